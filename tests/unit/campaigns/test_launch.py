"""The governed launch: eligibility, the draft and its TTL, review, the approval policy, health
pauses and idempotency. Hypothesis: no sequence of commands reaches `active` unapproved."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.campaigns.aggregate import CampaignAggregate, CampaignPolicy, EligibilityFacts
from agents.campaigns.identity import campaign_id_for
from streams.contracts.models import OutreachErrorRaised
from streams.contracts.models.campaign import (
    ApprovalTerms,
    CampaignCommandRejected,
    CampaignScope,
    CampaignStateChanged,
)
from tests.unit.campaigns.helpers import CID, DIGESTS, NOW, command, run, state_in

NEW = CampaignAggregate(campaign_id=CID)


def events(decision: object) -> list[object]:
    return [e.event for e in decision.emits]  # type: ignore[attr-defined]


def test_campaign_ids_are_one_per_company_and_strategy() -> None:
    a = campaign_id_for("cmp_1", "PERSONALIZED_EMAIL")
    assert a == campaign_id_for("cmp_1", "PERSONALIZED_EMAIL")
    assert a != campaign_id_for("cmp_1", "PHONE_AND_EMAIL") != campaign_id_for("cmp_2", "x")
    assert a.startswith("cmp-") and len(a) == 20


def test_a_gate_request_becomes_a_draft_with_its_ttl_eligibility_and_digests() -> None:
    d = run(NEW, command("request"))
    requested, draft = events(d)
    assert isinstance(requested, CampaignStateChanged) and isinstance(draft, CampaignStateChanged)
    assert (requested.to_state, draft.to_state) == ("requested", "draft")
    assert requested.eligibility and requested.eligibility.verdict == "MAY"
    assert draft.expires_at == NOW + timedelta(days=7) and draft.content_digests == DIGESTS
    assert draft.process_id.startswith("outreach-execution-campaign-")
    assert d.state.state == "draft" and d.state.approval is None


def test_a_request_nobody_allowed_fails_creation_with_out_005() -> None:
    d = run(NEW, command("request", actor="operator:ann"))
    rejected, error = events(d)
    assert isinstance(rejected, CampaignCommandRejected) and rejected.code == "not_eligible"
    assert "gate:no_allow_verdict" in rejected.reason
    assert isinstance(error, OutreachErrorRaised) and error.code == "OUT-005"
    assert d.state.state is None


def test_an_unhealthy_sending_domain_makes_a_request_ineligible() -> None:
    d = run(NEW, command("request"), facts=EligibilityFacts(domain_pause="hv-9"))
    assert [type(e).__name__ for e in events(d)] == ["CampaignCommandRejected",
                                                     "OutreachErrorRaised"]
    assert "hv-9" in events(d)[0].reason  # type: ignore[attr-defined]


def test_a_request_for_another_campaign_id_is_invalid() -> None:
    d = run(NEW, command("request", campaign_id="cmp-elsewhere"))
    assert events(d)[0].code == "invalid_request"  # type: ignore[attr-defined]


def test_later_verdicts_add_to_the_audience() -> None:
    s = run(NEW, command("request")).state
    d = run(s, command("request", audience=1))
    [grown] = events(d)
    assert grown.from_state == grown.to_state == "draft" and grown.audience == 2  # type: ignore


def test_approval_records_who_when_window_rates_and_digests() -> None:
    d = run(state_in("draft"), command("approve", approval=ApprovalTerms(max_sends_per_hour=5)))
    [active] = events(d)
    terms = active.approval  # type: ignore[attr-defined]
    assert active.to_state == "active"  # type: ignore[attr-defined]
    assert (terms.approved_by, terms.approved_at) == ("operator:ann", NOW)
    assert terms.window_start == NOW and terms.max_sends_per_hour == 5
    assert terms.max_sends_per_day == CampaignPolicy().max_sends_per_day
    assert terms.content_digests == DIGESTS


def test_an_approval_with_a_later_window_schedules_and_the_window_activates() -> None:
    start = NOW + timedelta(hours=2)
    s = run(state_in("draft"), command("approve", approval=ApprovalTerms(window_start=start))).state
    assert s.state == "scheduled"
    assert events(run(s, command("activate")))[0].code == "window_not_open"  # type: ignore
    assert run(s, command("activate"), now=start).state.state == "active"


def test_modify_scope_makes_a_new_draft_version_and_the_old_one_cannot_be_approved() -> None:
    s = run(state_in("draft"), command("modify_scope", scope=CampaignScope(max_audience=3))).state
    assert s.draft_version == 2 and s.state == "draft"
    [refused] = events(run(s, command("approve", draft_version=1)))
    assert refused.code == "stale_draft_version"  # type: ignore[attr-defined]
    assert run(s, command("approve", draft_version=2)).state.state == "active"


def test_ask_keeps_the_draft_and_records_the_note() -> None:
    [asked] = events(run(state_in("draft"), command("ask", note="which segment?")))
    assert asked.to_state == "draft" and asked.note == "which segment?"  # type: ignore


def test_a_draft_expires_only_past_its_ttl() -> None:
    s = run(NEW, command("request")).state
    assert events(run(s, command("expire")))[0].code == "not_expired"  # type: ignore
    later = NOW + timedelta(days=7)
    assert run(s, command("expire"), now=later).state.state == "expired"


def test_the_policy_approves_chosen_tiers_at_once() -> None:
    policy = CampaignPolicy(auto_approve_tiers=frozenset({"BURNING"}))
    hot = run(NEW, command("request"), policy=policy)
    assert hot.state.state == "draft"
    burning = run(NEW, command("request", tier="BURNING"), policy=policy)
    last = events(burning)[-1]
    assert last.to_state == "active"  # type: ignore[attr-defined]
    assert last.approval.approved_by == "policy:auto-approve-tiers"  # type: ignore


def test_a_health_pause_is_lifted_only_by_an_approval_overriding_that_verdict() -> None:
    s = run(state_in("active"), command("pause_for_health", health_verdict_id="hv-7")).state
    assert s.state == "paused"
    assert events(run(s, command("resume")))[0].code == "health_pause"  # type: ignore
    assert events(run(s, command("approve")))[0].code == "health_pause"  # type: ignore
    override = ApprovalTerms(overrides_health_verdict_id="hv-7")
    [lifted] = events(run(s, command("approve", approval=override)))
    assert lifted.to_state == "active"  # type: ignore[attr-defined]
    assert lifted.approval.overrides_health_verdict_id == "hv-7"  # type: ignore


def test_an_approval_must_name_the_pause_verdict_now_on_the_campaign() -> None:
    # The campaign's own PAUSE, then its sending domain's: the later verdict replaces the
    # earlier, so overriding the first no longer lifts the pause.
    own = run(state_in("active"), command("pause_for_health", health_verdict_id="hv-own")).state
    d = run(own, command("pause_for_health", health_verdict_id="hv-domain"))
    [replaced] = events(d)
    assert replaced.to_state == "paused"  # type: ignore[attr-defined]
    assert replaced.health_verdict_id == "hv-domain"  # type: ignore[attr-defined]
    stale = ApprovalTerms(overrides_health_verdict_id="hv-own")
    [refused] = events(run(d.state, command("approve", approval=stale)))
    assert isinstance(refused, CampaignCommandRejected) and refused.code == "health_pause"
    assert "hv-domain" in refused.reason
    current = ApprovalTerms(overrides_health_verdict_id="hv-domain")
    [lifted] = events(run(d.state, command("approve", approval=current)))
    assert lifted.to_state == "active"  # type: ignore[attr-defined]
    assert lifted.health_verdict_id is None  # type: ignore[attr-defined]


def test_an_operator_pause_is_resumed() -> None:
    s = run(state_in("active"), command("pause")).state
    assert run(s, command("resume")).state.state == "active"


def test_a_redelivered_command_is_a_no_op() -> None:
    cmd = command("approve")
    d = run(state_in("draft"), cmd)
    again = run(d.state, cmd)
    assert again.emits == () and again.state == d.state


# ---- hypothesis: no step can be skipped --------------------------------------------------------

ACTORS = ("operator:ann", "system:gate", "policy:x", "system:health", "system:ttl")
steps = st.tuples(
    st.sampled_from(("request", "approve", "reject", "ask", "modify_scope", "pause", "resume",
                     "cancel", "expire", "activate", "pause_for_health", "complete", "fail")),
    st.sampled_from(ACTORS),
    st.integers(min_value=0, max_value=10 * 24),  # hours that pass first
    st.sampled_from((None, 1, 2, 3)),  # draft version named by an approve
    st.booleans(),  # an approval that names the health verdict
)


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, max_size=25), st.booleans())
def test_no_sequence_of_commands_reaches_active_without_an_approval(
        script: list[tuple[str, str, int, int | None, bool]], auto: bool) -> None:
    policy = CampaignPolicy(auto_approve_tiers=frozenset({"HOT"} if auto else ()))
    state, now, history = NEW, NOW, []
    for name, actor, hours, version, override in script:
        now += timedelta(hours=hours)
        terms = ApprovalTerms(overrides_health_verdict_id="hv-1" if override else None)
        cmd = command(name, actor=actor, issued_at=now, draft_version=version, approval=terms
                      if name != "request" else None)
        d = run(state, cmd, now=now, policy=policy)
        state = d.state
        history += [e for e in events(d) if isinstance(e, CampaignStateChanged)]
    approved = False
    for e in history:
        if e.command == "approve":
            approved = True
            assert e.approval and e.approval.approved_by == e.actor and e.approval.approved_at
        if e.to_state in ("active", "scheduled"):
            assert approved and e.approval is not None, [x.to_state for x in history]
    assert [e.version for e in history] == list(range(1, len(history) + 1))
