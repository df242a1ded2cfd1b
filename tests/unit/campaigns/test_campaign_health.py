"""Campaign health fold: minimum sample, thresholds, bursts, window, domains, redelivery."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.campaigns.health import HealthPolicy, ScopeHealth, decide, evaluate
from agents.campaigns.health_input import observations, sending_domain_of
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CampaignHealthEvaluated,
    CampaignHealthObserved,
    EngagementRecorded,
    SendRecorded,
)
from streams.contracts.models.campaign_health import ObservationKind

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
POLICY = HealthPolicy()
PID = "outreach-execution-send-20260601-0a1b2c3d"
_serial = iter(range(10**9))


def obs(kind: ObservationKind, campaign: str | None = "cmp-a", at: datetime = T0,
        scope: str | None = None, oid: str | None = None) -> CampaignHealthObserved:
    return CampaignHealthObserved(
        scope=scope or f"campaign:{campaign}", observation_id=oid or f"o-{next(_serial)}",
        kind=kind, campaign_id=campaign, sending_domain="hub.example", occurred_at=at,
        correlation_id="corr-1")


def fold(items: Iterable[CampaignHealthObserved], state: ScopeHealth | None = None,
         now: datetime = T0, policy: HealthPolicy = POLICY
         ) -> tuple[ScopeHealth, list[CampaignHealthEvaluated]]:
    state = state or ScopeHealth()
    verdicts: list[CampaignHealthEvaluated] = []
    for item in items:
        d: Decision[ScopeHealth] = decide(state, item, now, policy, STABLE_IDS)
        state = d.state
        verdicts += [e.event for e in d.emits]  # type: ignore[misc]
    return state, verdicts


def mix(sends: int, hard: int = 0, complaints: int = 0, opens: int = 0, replies: int = 0,
        campaign: str = "cmp-a", at: datetime = T0) -> list[CampaignHealthObserved]:
    # Engagement first, so the sends do not pass through a low-engagement REVIEW on the way.
    kinds: list[ObservationKind] = (["open"] * opens + ["reply"] * replies + ["send"] * sends
                                    + ["hard_bounce"] * hard + ["complaint"] * complaints)
    return [obs(k, campaign, at) for k in kinds]


# --------------------------------------------------------------------------- verdict table


@pytest.mark.parametrize(("sends", "hard", "complaints", "engaged", "verdict"), [
    # below the minimum sample nothing is decided, however bad
    (199, 100, 50, 0, None),
    (0, 0, 5, 0, None),
    # exactly at the thresholds: >= pauses, the engagement floor itself is healthy
    (1000, 0, 1, 300, "PAUSE"),       # complaint rate 0.1%
    (1001, 0, 1, 301, "HEALTHY"),     # 0.0999%: not paused; 30.07% engaged
    (200, 10, 0, 60, "PAUSE"),        # hard-bounce rate 5%
    (200, 9, 0, 60, "HEALTHY"),       # 4.5%
    (200, 0, 0, 60, "HEALTHY"),       # engagement exactly 30%
    (200, 0, 0, 59, "REVIEW"),        # 29.5%
    (200, 0, 0, 0, "REVIEW"),
    # both pause reasons at once; PAUSE wins over a low engagement rate
    (200, 20, 3, 0, "PAUSE"),
])
def test_verdict_at_and_around_the_thresholds(sends: int, hard: int, complaints: int,
                                              engaged: int, verdict: str | None) -> None:
    state, verdicts = fold(mix(sends, hard, complaints, opens=engaged))
    assert state.verdict == verdict
    assert [v.verdict for v in verdicts][-1:] == ([] if verdict is None else [verdict])


def test_minimum_sample_is_a_setting() -> None:
    _, verdicts = fold(mix(10, complaints=1, opens=5), policy=HealthPolicy(min_sends=10))
    assert [v.verdict for v in verdicts] == ["HEALTHY", "PAUSE"]


def test_complaint_burst_pauses_a_healthy_campaign_once_with_the_figures() -> None:
    state, verdicts = fold(mix(400, opens=200))
    assert [v.verdict for v in verdicts] == ["HEALTHY"]
    state, verdicts = fold([obs("complaint") for _ in range(3)], state)
    [pause] = verdicts  # the 2nd and 3rd complaint change nothing: emitted on change only
    assert (pause.verdict, pause.campaign_id, pause.sending_domain) == (
        "PAUSE", "cmp-a", "hub.example")
    assert (pause.sends, pause.complaints, pause.opens) == (400, 1, 200)
    assert pause.complaint_rate == pytest.approx(0.0025)
    assert pause.reasons == ("complaint rate 0.25% >= 0.10%",)
    assert pause.window_end == T0 and pause.window_start == T0 - timedelta(hours=167, minutes=0)
    assert pause.verdict_id == pause.event_id


def test_bounce_burst_pauses() -> None:
    state, _ = fold(mix(300, opens=150))
    _, verdicts = fold([obs("hard_bounce") for _ in range(20)], state)
    [pause] = verdicts
    assert pause.verdict == "PAUSE" and pause.hard_bounces == 15  # 15/300 = 5%
    assert pause.bounce_rate == pytest.approx(0.05)


def test_low_engagement_flags_for_review_and_recovers() -> None:
    state, verdicts = fold(mix(200, opens=20))
    assert [v.verdict for v in verdicts] == ["REVIEW"]
    assert verdicts[0].reasons == ("engagement rate 10.00% < 30.00%",)
    _, verdicts = fold([obs("reply") for _ in range(40)], state)
    assert [v.verdict for v in verdicts] == ["HEALTHY"]


# --------------------------------------------------------------------------- the window


def test_the_window_slides_and_forgets_old_buckets() -> None:
    old = T0 - timedelta(days=8)
    state, verdicts = fold(mix(300, hard=30, opens=150, at=old), now=old)
    assert [v.verdict for v in verdicts] == ["HEALTHY", "PAUSE"]
    # Eight days on, the bounces are out of the window: 300 fresh clean sends decide alone.
    state, verdicts = fold(mix(300, opens=150), state, now=T0)
    assert [v.verdict for v in verdicts] == ["HEALTHY"]
    assert verdicts[0].sends == 200 and verdicts[0].hard_bounces == 0  # decided at the 200th
    assert all(b[0] >= int((T0 - timedelta(days=7)).timestamp() // 3600) for b in state.buckets)


def test_below_the_sample_after_sliding_the_last_verdict_stands() -> None:
    old = T0 - timedelta(days=6)
    state, _ = fold(mix(200, complaints=1, at=old), now=old)
    assert state.verdict == "PAUSE"
    state, verdicts = fold(mix(5), state, now=T0 + timedelta(days=2))
    assert verdicts == [] and state.verdict == "PAUSE"
    evaluation = evaluate(state, T0 + timedelta(days=2), POLICY)
    assert evaluation is None


def test_evidence_older_than_the_window_is_ignored() -> None:
    state, _ = fold(mix(10))
    d = decide(state, obs("complaint", at=T0 - timedelta(days=7, hours=1)), T0, POLICY,
               STABLE_IDS)
    assert d.state is state and d.emits == ()


# --------------------------------------------------------------------------- sending domain


def dom(kind: ObservationKind, campaign: str, oid: str | None = None) -> CampaignHealthObserved:
    return obs(kind, campaign, scope="domain:hub.example", oid=oid)


def test_a_domain_pause_reaches_every_campaign_that_sends_from_it() -> None:
    items = [dom(k, c) for c in ("cmp-a", "cmp-b") for _ in range(150) for k in ("open", "send")]
    state, verdicts = fold(items)
    assert verdicts == []  # a healthy domain says nothing a campaign's own verdict does not
    state, verdicts = fold([dom("complaint", "cmp-b")], state)
    assert sorted((v.campaign_id, v.verdict) for v in verdicts) == [
        ("cmp-a", "PAUSE"), ("cmp-b", "PAUSE")]
    assert verdicts[0].reasons[0].startswith("sending domain hub.example: complaint rate")
    assert len({v.verdict_id for v in verdicts}) == 2
    # A campaign that starts sending from the paused domain is told at its first send.
    state, verdicts = fold([dom("send", "cmp-c")], state)
    assert [(v.campaign_id, v.verdict) for v in verdicts] == [("cmp-c", "PAUSE")]
    _, verdicts = fold([dom("send", "cmp-a")], state)
    assert verdicts == []


def test_router_keys_each_record_by_campaign_and_by_sending_domain() -> None:
    def send(status: str, campaign: str | None = "cmp-a") -> SendRecorded:
        return SendRecorded(event_id="s-1", occurred_at=T0, correlation_id="c", process_id=PID,
                            aggregate_id="seq-1:ck", contact_key="ck", campaign_id=campaign,
                            touch_index=1, idempotency_key="k-1", status=status)  # type: ignore[arg-type]

    def event(kind: str, bounce: str | None = None) -> EngagementRecorded:
        return EngagementRecorded(
            event_id="e-1", occurred_at=T0, correlation_id="c", process_id=PID,
            aggregate_id="seq-1:ck", contact_key="ck", campaign_id="cmp-a", provider="hub",
            provider_event_id="p-1", type=kind, bounce_kind=bounce)  # type: ignore[arg-type]

    emits = observations(send("sent"), "hub.example")
    assert [(e.topic, e.key) for e in emits] == [
        ("campaign_health_input", "campaign:cmp-a"),
        ("campaign_health_input", "domain:hub.example")]
    assert {e.event.observation_id for e in emits} == {"send:k-1"}  # type: ignore[attr-defined]
    assert [e.key for e in observations(send("sent", None), "d")] == ["domain:d"]
    assert observations(send("failed"), "d") == ()
    kinds = {k: [e.event.kind for e in observations(event(k, b), "d")][:1]  # type: ignore[attr-defined]
             for k, b in (("opened", None), ("replied", None), ("complained", None),
                          ("clicked", None), ("delivered", None), ("auto_replied", None))}
    assert kinds == {"opened": ["open"], "replied": ["reply"], "complained": ["complaint"],
                     "clicked": [], "delivered": [], "auto_replied": []}
    assert observations(event("bounced", "soft"), "d") == ()
    for bounce in ("hard", None):
        assert observations(event("bounced", bounce), "d")[0].event.kind == "hard_bounce"  # type: ignore[attr-defined]
    assert sending_domain_of("Outreach@Mail.Hub.Example") == "mail.hub.example"


# --------------------------------------------------------------------------- redelivery


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["send", "send", "send", "open", "complaint", "hard_bounce",
                                    "reply"]), min_size=1, max_size=60),
    again=st.lists(st.integers(min_value=0, max_value=59), max_size=40),
    domain=st.booleans(),
)
def test_redelivery_changes_nothing(kinds: list[ObservationKind], again: list[int],
                                    domain: bool) -> None:
    """Any observation delivered again, at any later point, leaves the state and the
    verdicts as they were without it; a whole replayed decision re-emits the same ids."""
    policy = HealthPolicy(min_sends=5)
    items = [obs(k, f"cmp-{i % 3}", scope="domain:hub.example" if domain else "campaign:cmp-x",
                 oid=f"o-{i}") for i, k in enumerate(kinds)]
    once_state, once = fold(items, policy=policy)
    replayed = list(items)
    for n, i in enumerate(again):
        if i < len(items):  # again, somewhere after the first delivery
            first = replayed.index(items[i])
            replayed.insert(min(len(replayed), first + 1 + n % 7), items[i])
    twice_state, twice = fold(replayed, policy=policy)
    assert twice_state == once_state
    assert [v.verdict_id for v in twice] == [v.verdict_id for v in once]
    # A decision lost before its state was written is decided again with the same ids.
    if items:
        before, _ = fold(items[:-1], policy=policy)
        first = decide(before, items[-1], T0, policy, STABLE_IDS)
        second = decide(before, items[-1], T0, policy, STABLE_IDS)
        assert first == second


def test_thresholds_come_from_the_environment() -> None:
    from streams.kernel.settings import Settings

    health = Settings.from_env({"OUTREACH_HEALTH_MIN_SENDS": "50",
                                "OUTREACH_HEALTH_PAUSE_COMPLAINT_RATE": "0.003"}).health
    assert (health.min_sends, health.pause_complaint_rate) == (50, 0.003)
    assert (POLICY.min_sends, POLICY.pause_complaint_rate, POLICY.pause_hard_bounce_rate,
            POLICY.review_engagement_rate, POLICY.buckets) == (200, 0.001, 0.05, 0.30, 168)
