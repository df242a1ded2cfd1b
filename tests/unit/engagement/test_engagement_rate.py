"""The ENGAGEMENT_RATE fold: (opens + replies) / sends per campaign, each record counted once."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.engagement.rate import RateState, counted, label_of, rate, rate_of
from agents.sequencer.definition import load_definitions
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.decision import Count, Decision, Emit, SetGauge
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import EngagementRecorded, EnrollContact, SendRecorded

T0 = datetime(2026, 3, 26, 10, tzinfo=UTC)
AGG = "personalized-email-v1-0a1b2c3d4e:ck-1"


def send(n: int, campaign: str | None = "camp-1", status: str = "sent",
         aggregate: str = AGG) -> SendRecorded:
    return SendRecorded(
        event_id=f"s-{n}", occurred_at=T0, correlation_id="corr-1",
        process_id="outreach-execution-send-20260326-0a1b2c3d", aggregate_id=aggregate,
        contact_key="ck-1", campaign_id=campaign, touch_index=n, idempotency_key=f"{AGG}:step{n}",
        status=status)  # type: ignore[arg-type]


def engaged(n: int, kind: str = "opened", campaign: str | None = "camp-1") -> EngagementRecorded:
    return EngagementRecorded(
        event_id=f"e-{n}", occurred_at=T0, correlation_id="corr-1",
        process_id="outreach-execution-engage-20260326-0a1b2c3d", aggregate_id=AGG,
        contact_key="ck-1", campaign_id=campaign, provider="sendgrid", provider_event_id=f"p-{n}",
        type=kind)  # type: ignore[arg-type]


def fold(events: list[SendRecorded | EngagementRecorded]) -> RateState:
    return reduce(rate, events, RateState())


@pytest.mark.parametrize(("events", "expected"), [
    ([], None),
    ([engaged(1)], None),  # no send yet: no rate
    ([send(1)], 0.0),
    ([send(1), engaged(1)], 1.0),
    ([send(1), send(2), engaged(1), engaged(2, "replied")], 1.0),
    ([send(1), send(2), engaged(1), engaged(2, "clicked")], 0.5),  # clicks are not counted
    ([send(1), send(2), send(3), send(4), engaged(1)], 0.25),
    ([send(1), send(2, status="failed"), engaged(1)], 1.0),  # only sent emails count
    ([send(1), send(1), engaged(1)], 1.0),  # a redelivered send report counts once
    ([send(1), engaged(1), engaged(1)], 1.0),  # a redelivered engagement record counts once
    ([send(1), engaged(1, campaign="camp-2")], 0.0),  # another campaign's open
])
def test_rate_per_campaign(events: list[SendRecorded | EngagementRecorded],
                           expected: float | None) -> None:
    assert rate_of(fold(events), "camp-1") == expected


def test_a_record_that_does_not_count_leaves_the_state_as_it_was() -> None:
    state = fold([send(1)])
    assert rate(state, send(1)) is state
    assert rate(state, engaged(5, "bounced")) is state
    assert rate(state, send(2, status="scheduled")) is state


@pytest.mark.parametrize(("campaign", "aggregate", "label"), [
    ("camp-9", AGG, "camp-9"),
    (None, AGG, "personalized-email-v1"),
    ("", "phone_and_email-0a1b2c3d4e:ck-2", "phone_and_email"),
])
def test_label_is_the_campaign_else_the_sequence_definition(
        campaign: str | None, aggregate: str, label: str) -> None:
    assert label_of(campaign, aggregate) == label


def test_the_fallback_label_of_an_enrolled_aggregate_is_its_definition() -> None:
    # Built by the sequencer itself: whatever the run part, one label per definition.
    definitions = load_definitions()
    ctx = SequencerContext(definitions=definitions, window=SendWindow(start_hour=0, end_hour=24,
                           weekdays=tuple(range(7))), caps=DailyCaps(), ids=STABLE_IDS)
    labels = set()
    for n in range(3):
        cmd = EnrollContact(enrollment_id=f"en-{n}", contact_key="ck-1", lead_id="l-1",
                            strategy="PERSONALIZED_EMAIL", to_email="jane@example.invalid",
                            correlation_id="corr-1", requested_at=T0)
        state = decide_person(PersonState(contact_key="ck-1"), cmd, T0, ctx).state
        assert state.active is not None
        labels.add(label_of(None, state.active.aggregate_id))
    assert labels == {definitions["PERSONALIZED_EMAIL"].sequence_id}


def test_counted_keys_stay_bounded() -> None:
    state = fold([send(n) for n in range(1, 20_000)])
    assert sum(len(c) for c in state.counted) <= 16 * 256
    assert state.sends == {"camp-1": 19_999}


EVENTS = st.lists(
    st.one_of(
        st.builds(send, st.integers(1, 30), st.sampled_from(["camp-1", "camp-2", None]),
                  st.sampled_from(["sent", "sent", "failed"])),
        st.builds(engaged, st.integers(1, 30), st.sampled_from(["opened", "replied", "clicked"]),
                  st.sampled_from(["camp-1", "camp-2", None])),
    ),
    max_size=40,
)


@given(EVENTS, st.data())
def test_redelivery_does_not_change_the_rate(events: list, data: st.DataObject) -> None:
    # At-least-once: any record may come again, later (a redelivered batch repeats a run).
    start = data.draw(st.integers(0, len(events)))
    end = data.draw(st.integers(start, len(events)))
    at = data.draw(st.integers(end, len(events)))
    redelivered = events[:at] + events[start:end] + events[at:]
    once, twice = fold(events), fold(redelivered)
    for label in ("camp-1", "camp-2", "personalized-email-v1"):
        assert rate_of(once, label) == rate_of(twice, label)
    assert (once.sends, once.engaged) == (twice.sends, twice.engaged)


def test_the_decision_carries_the_gauge_setting_once_per_record() -> None:
    # The gauge is an effect the kernel sets once the decision's emits are acknowledged: a
    # send report, then the engagement record its decision emits, each moves the rate once.
    labels = (("sequence_id", "personalized-email-v1"), ("campaign", "camp-1"))
    state, decision = counted(RateState(), send(1), Decision(None))
    assert decision.effects == (Count("engagement_sends_total", labels),
                                SetGauge("engagement_rate", (("campaign", "camp-1"),), 0.0))
    state, decision = counted(state, "a provider event", Decision(
        None, (Emit("engagement_events", "ck-1", engaged(1)),)))
    assert decision.effects == (Count("engagement_opens_total", labels),
                                SetGauge("engagement_rate", (("campaign", "camp-1"),), 1.0))
    # Delivered again: counted already, the decision is left as it was.
    again: Decision[None] = Decision(None)
    assert counted(state, send(1), again) == (state, again)


def test_the_rates_terms_are_counted_once_each_so_promql_sums_them_across_workers() -> None:
    # Two workers' folds (each its partitions): the counters add up where the gauges cannot.
    totals: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for events in ([send(1), send(2), engaged(1), engaged(1)],
                   [send(3), send(3), engaged(3, "replied"), engaged(4, "clicked"),
                    send(5, campaign=None)]):
        state = RateState()
        for event in events:
            emits = () if isinstance(event, SendRecorded) else (Emit("e", "ck-1", event),)
            item = event if isinstance(event, SendRecorded) else "a provider event"
            state, decision = counted(state, item, Decision(None, emits))
            for c in decision.effects:
                if isinstance(c, Count):
                    totals[(c.metric, c.labels)] = totals.get((c.metric, c.labels), 0) + c.amount
    camp = (("sequence_id", "personalized-email-v1"), ("campaign", "camp-1"))
    assert totals == {("engagement_sends_total", camp): 3,
                      ("engagement_opens_total", camp): 1,
                      ("engagement_replies_total", camp): 1,
                      ("engagement_sends_total", (("sequence_id", "personalized-email-v1"),
                                                  ("campaign", "none"))): 1}
