"""A touch whose outcome a stopped worker left unknown is settled by evidence, not guessed;
a person's later touches wait behind it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.sender.content import ContentLibrary
from agents.sender.core import (
    IN_FLIGHT_AT_RESTART,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
    on_evidence,
    record_result,
)
from agents.sender.inflight import InFlight, UnknownOutcomePolicy, renudge
from agents.sequencer.definition import load_definitions, load_templates
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import MergeFields, TouchRequested

T0 = datetime(2026, 11, 25, 15, tzinfo=UTC)
BOUND = timedelta(minutes=10)
RESEND = UnknownOutcomePolicy("resend", BOUND)
FAIL = UnknownOutcomePolicy("fail", BOUND)
CONTENT = ContentLibrary.of(load_templates())
CFG = SenderConfig(from_email="outreach@hub.example", from_name="Hub",
                   public_base_url="https://hub.example", unsubscribe_secret=b"s" * 32,
                   calendar_secret=b"c" * 32,
                   content=CONTENT, approved_digests=lambda _campaign: CONTENT.digests)
SEQUENCE = load_definitions()["PERSONALIZED_EMAIL"]


def touch(n: int) -> TouchRequested:
    return TouchRequested(
        event_id=f"e{n}", occurred_at=T0, correlation_id="c",
        process_id="outreach-execution-sequence-20261125-0a1b2c3d", aggregate_id="seq-1:ck",
        sequence_id="seq-1", contact_key="ck", touch_index=n, channel="email", subject="Hi",
        to_email="jane@acme.example", due_at=T0, idempotency_key=f"seq-1:ck:step{n}",
        content_digest=SEQUENCE.touch(n).content_digest,
        merge_fields=MergeFields(first_name="Jane", title="CEO", company_name="Acme"))


def crashed_with(n: int, since: datetime = T0) -> SenderState:
    """The state a worker left when it died during touch n's provider call."""
    outcome = decide_request(SenderState(), touch(n), CFG, now=since, unknown=RESEND)
    assert isinstance(outcome, SendEmail)
    return outcome.marked.state


def test_a_state_of_the_one_slot_format_reads_as_one_record() -> None:
    old = SenderState.model_validate({"settled": ["k0"], "in_flight": "seq-1:ck:step1"})
    assert old.in_flight == (InFlight(key="seq-1:ck:step1"),)
    assert SenderState.model_validate({"in_flight": None}).in_flight == ()


@pytest.mark.parametrize(("policy", "after", "expected"), [
    (RESEND, timedelta(0), "wait"),
    (RESEND, BOUND - timedelta(seconds=1), "wait"),
    (RESEND, BOUND, "send"),
    (FAIL, BOUND - timedelta(seconds=1), "wait"),
    (FAIL, BOUND, "record-unknown"),
])
def test_a_redelivered_unresolved_touch_waits_for_evidence_then_follows_the_policy(
        policy: UnknownOutcomePolicy, after: timedelta, expected: str) -> None:
    # Found unresolved an hour after it was marked (a slow restart): the bound starts now.
    found = T0 + timedelta(hours=1)
    first = decide_request(crashed_with(1), touch(1), CFG, now=found, unknown=policy)
    assert isinstance(first, Decision) and first.emits == ()
    state = first.state
    outcome = decide_request(state, touch(1), CFG, now=found + after, unknown=policy)
    if expected == "wait":
        assert isinstance(outcome, Decision) and outcome.emits == ()
        assert outcome.state.flight(touch(1).idempotency_key) is not None
    elif expected == "send":
        assert isinstance(outcome, SendEmail)
        again = outcome.marked.state.flight(touch(1).idempotency_key)
        assert again is not None and again.attempts == 2
        first = decide_request(SenderState(), touch(1), CFG, now=T0, unknown=RESEND)
        assert isinstance(first, SendEmail) and first.email == outcome.email  # same headers
    else:
        assert outcome == RecordWithoutSending(IN_FLIGHT_AT_RESTART)


@pytest.mark.parametrize(("key", "message_id", "recorded", "emitted"), [
    ("seq-1:ck:step1", None, True, []),  # the hub's own send record: already out
    ("seq-1:ck:step1", "sg-1", False, ["sent"]),  # a provider event naming the key
    (None, "<{mid}>", False, ["sent"]),  # a provider event naming the Message-ID
])
def test_evidence_settles_an_unresolved_touch_as_sent(
        key: str | None, message_id: str | None, recorded: bool, emitted: list[str]) -> None:
    state = crashed_with(1)
    flight = state.flight("seq-1:ck:step1")
    assert flight is not None and flight.message_id is not None
    mid = message_id.format(mid=flight.message_id.strip("<>")) if message_id else None
    decision = on_evidence(state, key, mid, T0, STABLE_IDS, provider="smtp", recorded=recorded)
    assert [getattr(e.event, "status", "") for e in decision.emits] == emitted
    assert decision.state.in_flight == ()
    assert "seq-1:ck:step1" in decision.state.settled
    late = decide_request(decision.state, touch(1), CFG, now=T0 + BOUND, unknown=RESEND)
    assert isinstance(late, Decision) and late.emits == ()  # never sent after the evidence


def test_evidence_about_another_touch_settles_nothing() -> None:
    state = crashed_with(1)
    decision = on_evidence(state, "seq-9:ck:step1", "other", T0, STABLE_IDS, provider="smtp",
                           recorded=False)
    assert decision.state == state and decision.emits == ()


def test_a_later_touch_waits_behind_an_unresolved_one_and_follows_it_in_order() -> None:
    state = crashed_with(1)
    for n in (3, 2, 2):
        held = decide_request(state, touch(n), CFG, now=T0, unknown=RESEND)
        assert isinstance(held, Decision) and held.emits == ()
        state = held.state
    assert [w.touch_index for w in state.waiting] == [2, 3]
    settled = on_evidence(state, "seq-1:ck:step1", None, T0, STABLE_IDS, provider="smtp",
                          recorded=True)
    assert [(e.topic, e.event.touch_index) for e in settled.emits] == [  # type: ignore[attr-defined]
        ("send_requests", 2)]
    late = decide_request(settled.state, touch(3), CFG, now=T0, unknown=RESEND)
    assert isinstance(late, Decision) and late.emits == ()  # still behind touch 2
    second = decide_request(settled.state, touch(2), CFG, now=T0, unknown=RESEND)
    assert isinstance(second, SendEmail)
    assert [w.touch_index for w in second.marked.state.waiting] == [3]
    done = record_result(second.marked.state, touch(2), T0, STABLE_IDS, provider="smtp")
    assert [(e.topic, e.event.touch_index) for e in done.emits] == [  # type: ignore[attr-defined]
        ("send_events", 2), ("send_requests", 3)]


def test_the_timer_brings_back_an_unresolved_touch_only_past_the_bound() -> None:
    never_found = crashed_with(1)  # its request was not delivered again (committed, moved)
    assert renudge(never_found, T0 + BOUND - timedelta(seconds=1), BOUND) is None
    nudge = renudge(never_found, T0 + BOUND, BOUND)
    assert nudge is not None and nudge.event == touch(1)
    found = decide_request(never_found, touch(1), CFG, now=T0 + BOUND, unknown=RESEND)
    assert isinstance(found, Decision)
    assert renudge(found.state, T0 + 2 * BOUND - timedelta(seconds=1), BOUND) is None
    assert renudge(found.state, T0 + 2 * BOUND, BOUND) is not None


def test_the_result_of_a_send_releases_held_touches() -> None:
    state = crashed_with(1)
    held = decide_request(state, touch(2), CFG, now=T0, unknown=RESEND)
    assert isinstance(held, Decision)
    found = decide_request(held.state, touch(1), CFG, now=T0, unknown=RESEND)
    assert isinstance(found, Decision)
    again = decide_request(found.state, touch(1), CFG, now=T0 + BOUND, unknown=RESEND)
    assert isinstance(again, SendEmail)
    done = record_result(again.marked.state, touch(1), T0 + BOUND, STABLE_IDS, provider="smtp")
    assert [e.topic for e in done.emits] == ["send_events", "send_requests"]
    assert done.state.in_flight == () and [w.touch_index for w in done.state.waiting] == [2]
