"""The campaign auditor: a clean campaign PASSes, each planted violation FAILs naming its rule,
and a record the audit cannot judge is INCONCLUSIVE."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.campaigns import audit as rules
from agents.campaigns.audit import audit, verdict_emits
from agents.campaigns.audit_input import (
    AuditLimits,
    CampaignRecord,
    Enrolled,
    SendRow,
    StopRow,
    SuppressionRow,
)
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.campaign import ApprovalTerms
from streams.contracts.models.campaign_audit import CampaignAudited

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CMP = "cmp-0123456789abcdef"
OK = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
PEOPLE = ("ck1", "ck2", "ck3")


def agg(ck: str) -> str:
    return f"personalized-email-v1-0000000001:{ck}"


def send(ck: str, touch: int, at: datetime, **changes: Any) -> SendRow:
    fields: dict[str, Any] = {
        "idempotency_key": f"{agg(ck)}:step{touch}", "aggregate_id": agg(ck), "contact_key": ck,
        "campaign_id": CMP, "touch_index": touch, "status": "sent", "content_digest": OK,
        "requested_at": at - timedelta(seconds=30), "sent_at": at}
    return SendRow(**(fields | changes))


def clean(**changes: Any) -> CampaignRecord:
    """Three persons, two touches each, three days apart, inside the window and the rates."""
    sends = tuple(send(ck, t, T0 + timedelta(days=3 * (t - 1), minutes=i))
                  for i, ck in enumerate(PEOPLE) for t in (1, 2))
    fields: dict[str, Any] = {
        "campaign_id": CMP,
        "terms": ApprovalTerms(window_start=T0 - timedelta(hours=1),
                               window_end=T0 + timedelta(days=30), max_sends_per_hour=3,
                               max_sends_per_day=3, content_digests=(OK,),
                               approved_by="operator:ana", approved_at=T0 - timedelta(hours=2)),
        "enrolled": tuple(Enrolled(aggregate_id=agg(ck), contact_key=ck, status="completed")
                          for ck in PEOPLE),
        "sends": sends,
        "limits": AuditLimits(cooling_off_days=3, cap_per_mailbox=100, cap_per_domain=40)}
    return CampaignRecord(**(fields | changes))


def with_send(extra: SendRow, **changes: Any) -> CampaignRecord:
    return clean(sends=(*clean().sends, extra), **changes)


def terms(**changes: Any) -> ApprovalTerms:
    base = clean().terms
    assert base is not None
    return base.model_copy(update=changes)


LATE = T0 + timedelta(days=9)
BAD = f"{agg('ck1')}:step3"
VIOLATIONS: dict[str, Callable[[], CampaignRecord]] = {
    "outside_window": lambda: clean(terms=terms(window_end=T0 + timedelta(days=2))),
    "content_not_approved": lambda: with_send(send("ck1", 3, LATE, content_digest=OTHER)),
    "after_stop": lambda: with_send(send("ck1", 3, LATE), stops=(
        StopRow(aggregate_id=agg("ck1"), type="replied", occurred_at=LATE - timedelta(days=1)),)),
    "suppressed": lambda: with_send(send("ck1", 3, LATE), suppressions=(
        SuppressionRow(contact_key="ck1", reason="unsubscribed",
                       since=LATE - timedelta(hours=1)),)),
    "cooling_off": lambda: clean(other_sends=(send(
        "ck1", 1, T0 + timedelta(days=2), aggregate_id="phone-and-email-v1-0000000002:ck1",
        idempotency_key="phone-and-email-v1-0000000002:ck1:step1", campaign_id="cmp-other"),)),
    "daily_cap": lambda: clean(limits=AuditLimits(cooling_off_days=3, cap_per_domain=2)),
    "hourly_rate": lambda: clean(terms=terms(max_sends_per_hour=1)),
    "daily_rate": lambda: with_send(send("ck1", 3, T0 + timedelta(days=3, hours=5))),
    "not_enrolled": lambda: with_send(send("ck9", 1, T0 + timedelta(days=1))),
}


def test_a_clean_campaign_passes() -> None:
    verdict = audit(clean(), T0 + timedelta(days=20), STABLE_IDS)
    assert (verdict.verdict, verdict.findings) == ("PASS", ())
    assert verdict.campaign_id == CMP and verdict.verdict_id == verdict.event_id


@pytest.mark.parametrize("rule", sorted(VIOLATIONS))
def test_each_planted_violation_fails_naming_its_rule(rule: str) -> None:
    verdict = audit(VIOLATIONS[rule](), T0 + timedelta(days=20), STABLE_IDS)
    assert verdict.verdict == "FAIL"
    assert [f.rule for f in verdict.findings] == [rule]
    finding = verdict.findings[0]
    assert finding.count == len(finding.sample_ids) >= 1
    assert not any("@" in i for i in finding.sample_ids)  # ids, never an address


def test_the_rule_function_is_named_after_its_rule() -> None:
    for name, rule in rules.RULES + rules.UNCHECKABLE:
        assert rule.__name__ == name


def test_a_requested_touch_without_a_result_is_inconclusive() -> None:
    pending = send("ck1", 3, LATE, status="scheduled", sent_at=None)
    verdict = audit(with_send(pending), LATE, STABLE_IDS)
    assert verdict.verdict == "INCONCLUSIVE"
    assert [(f.rule, f.sample_ids) for f in verdict.findings] == [
        ("send_result_missing", (pending.idempotency_key,))]


def test_a_campaign_never_approved_is_inconclusive() -> None:
    verdict = audit(clean(terms=None), LATE, STABLE_IDS)
    assert verdict.verdict == "INCONCLUSIVE"
    assert [f.rule for f in verdict.findings] == ["approval_missing"]


def test_a_violation_fails_even_when_something_else_is_unknown() -> None:
    record = with_send(send("ck9", 1, T0 + timedelta(days=1)), terms=None)
    verdict = audit(record, LATE, STABLE_IDS)
    assert verdict.verdict == "FAIL"
    assert [f.rule for f in verdict.findings] == ["not_enrolled", "approval_missing"]


def test_failed_sends_break_no_rule() -> None:
    failed = send("ck9", 1, T0 - timedelta(days=5), status="failed", sent_at=None,
                  content_digest=OTHER)
    assert audit(with_send(failed), LATE, STABLE_IDS).verdict == "PASS"


def test_a_sequence_completing_before_its_last_send_went_out_is_no_stop() -> None:
    # The sequencer records completion right after requesting the last touch, so the provider
    # takes the mail after it: only a real stop counts.
    done = StopRow(aggregate_id=agg("ck1"), type="sequence_completed",
                   occurred_at=T0 + timedelta(days=3, seconds=-10))
    assert audit(clean(stops=(done,)), LATE, STABLE_IDS).verdict == "PASS"


def test_cooling_off_holds_only_between_different_sequences() -> None:
    # Its own touches are paced by min_days_apart: a 1-day cadence is no cooling-off breach.
    fast = tuple(send("ck1", t, T0 + timedelta(days=t)) for t in (1, 2, 3))
    assert rules.cooling_off(clean(sends=fast)) == []


def test_many_offending_sends_are_counted_and_sampled() -> None:
    many = tuple(send("ck9", t, T0 + timedelta(days=t)) for t in range(1, 9))
    verdict = audit(clean(sends=many, terms=terms(max_sends_per_day=None,
                                                   max_sends_per_hour=None)), LATE, STABLE_IDS)
    (finding,) = [f for f in verdict.findings if f.rule == "not_enrolled"]
    assert finding.count == 8 and len(finding.sample_ids) == rules.SAMPLE_SIZE


def test_the_same_record_gets_the_same_verdict_id_and_a_changed_one_another() -> None:
    a = audit(clean(), LATE, STABLE_IDS)
    assert audit(clean(), LATE + timedelta(hours=1), STABLE_IDS).verdict_id == a.verdict_id
    assert audit(VIOLATIONS["hourly_rate"](), LATE, STABLE_IDS).verdict_id != a.verdict_id


@pytest.mark.parametrize(("record", "command", "code"), [
    (clean, "complete", None),
    (VIOLATIONS["outside_window"], "fail", "AUDIT-FAILED"),
    (lambda: clean(terms=None), None, "AUDIT-INCONCLUSIVE"),
])
def test_a_verdict_sets_off_its_command_and_incident(
        record: Callable[[], CampaignRecord], command: str | None, code: str | None) -> None:
    verdict = audit(record(), LATE, STABLE_IDS)
    cmd, incident = rules.consequences(verdict, STABLE_IDS)
    assert (cmd and cmd.command, incident and incident.code) == (command, code)
    if cmd is not None:
        assert (cmd.actor, cmd.audit_verdict_id, cmd.campaign_id) == (
            "system:audit", verdict.verdict_id, CMP)
    if incident is not None:
        assert incident.subject_id == CMP and incident.reason.startswith("audit ")


@pytest.mark.parametrize(("verdict", "command", "code"), [
    ("PASS", "complete", None), ("FAIL", "fail", "AUDIT-FAILED"),
    ("INCONCLUSIVE", None, "AUDIT-INCONCLUSIVE")])
def test_the_worker_emits_the_verdict_and_what_it_sets_off(
        verdict: str, command: str | None, code: str | None) -> None:
    judged = CampaignAudited(
        event_id="av-1", occurred_at=T0, correlation_id="campaign:cmp-1",
        process_id="outreach-execution-campaign-20260302-0badc0de", verdict_id="av-1",
        campaign_id="cmp-1", verdict=verdict, audited_at=T0)  # type: ignore[arg-type]
    emits = verdict_emits(judged, STABLE_IDS)
    assert emits[0].topic == "audit" and emits[0].event == judged
    commands = [e.event for e in emits if e.topic == "campaign_commands"]
    assert [(c.command, c.actor, c.audit_verdict_id) for c in commands] == (  # type: ignore[attr-defined]
        [] if command is None else [(command, "system:audit", "av-1")])
    errors = [e.event.code for e in emits if e.topic == "errors"]  # type: ignore[attr-defined]
    assert errors == ([] if code is None else [code])
    assert {e.key for e in emits} == {"cmp-1"}


def _stop(kind: str, at: datetime) -> StopRow:
    return StopRow(aggregate_id=agg("ck1"), type=kind, occurred_at=at)


@pytest.mark.parametrize(("stops", "finding"), [
    # The reply occurred a minute before the touch; the hub stopped the sequence after it:
    # the in-flight race, not a breach.
    ((_stop("replied", LATE - timedelta(minutes=1)),
      _stop("sequence_stopped", LATE + timedelta(seconds=2))), False),
    # The hub had stopped the sequence before it decided the touch: a breach.
    ((_stop("replied", LATE - timedelta(days=1)),
      _stop("sequence_stopped", LATE - timedelta(hours=23))), True),
    # A stop signal the hub never acted on: every later touch is a breach.
    ((_stop("unsubscribed", LATE - timedelta(minutes=1)),), True),
    # A signal that is no stop (a soft bounce) stops nothing.
    ((_stop("bounced_soft", LATE - timedelta(days=1)),), False),
])
def test_after_stop_counts_from_when_the_hub_knew(stops: tuple[StopRow, ...],
                                                   finding: bool) -> None:
    verdict = audit(with_send(send("ck1", 3, LATE), stops=stops), T0 + timedelta(days=20),
                    STABLE_IDS)
    assert ("after_stop" in {f.rule for f in verdict.findings}) is finding


@pytest.mark.parametrize(("hub_stop", "finding"), [
    (None, True),  # the hub never acted on the unsubscribe: a breach
    (LATE + timedelta(seconds=2), False),  # decided before the hub knew: in flight
    (LATE - timedelta(seconds=30), True),  # decided after the hub had stopped the person
])
def test_suppressed_counts_from_when_the_hub_knew(hub_stop: datetime | None,
                                                  finding: bool) -> None:
    unsubscribed = LATE - timedelta(minutes=1)
    stops = () if hub_stop is None else (_stop("sequence_stopped", hub_stop),)
    record = with_send(send("ck1", 3, LATE), stops=stops, suppressions=(
        SuppressionRow(contact_key="ck1", reason="unsubscribed", since=unsubscribed),))
    verdict = audit(record, T0 + timedelta(days=20), STABLE_IDS)
    assert ("suppressed" in {f.rule for f in verdict.findings}) is finding


def test_a_rate_counts_the_hour_a_touch_was_decided_in() -> None:
    # Day one's three first touches go out at 9:00, 9:01, 9:02, requested 30 s before each:
    # one in the 8 o'clock hour, two in the 9 o'clock one, so two an hour were kept.
    verdict = audit(clean(terms=terms(max_sends_per_hour=2)), T0 + timedelta(days=20),
                    STABLE_IDS)
    assert "hourly_rate" not in {f.rule for f in verdict.findings}
