"""Events without an aggregate_id meet their send by provider message id, in either order."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.engagement.placement import (
    MessageState,
    decide_placement,
    late,
    placement_check,
    placement_for,
)
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import MessagePlacement, ProviderEventNormalized, SendRecorded

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)
AGG = "personalized-email-v1-abc:0123456789abcdef0123456789abcdef"
WAIT = 3600.0


def event(n: int = 1, kind: str = "opened") -> ProviderEventNormalized:
    return ProviderEventNormalized(provider="mailgun", provider_event_id=f"ev-{n}", type=kind,
                                   provider_message_id="msg-1", occurred_at=T0)


def placed(aggregate: str = AGG) -> MessagePlacement:
    return MessagePlacement(provider_message_id="msg-1", aggregate_id=aggregate, issued_at=T0)


def about(e: ProviderEventNormalized) -> MessagePlacement:
    return MessagePlacement(provider_message_id="msg-1", event=e, issued_at=T0)


def check() -> MessagePlacement:
    return MessagePlacement(provider_message_id="msg-1", issued_at=T0)


def run(items: list[MessagePlacement], now: datetime = T0) -> tuple[MessageState, list]:
    state, emits = MessageState(), []
    for item in items:
        d = decide_placement(state, item, now, STABLE_IDS, WAIT)
        state, emits = d.state, emits + list(d.emits)
    return state, emits


@pytest.mark.parametrize("order", ["send first", "event first"])
def test_event_is_routed_to_the_person_of_its_send(order: str) -> None:
    items = [placed(), about(event())] if order == "send first" else [about(event()), placed()]
    state, emits = run(items)
    assert [(e.topic, e.key) for e in emits] == [("engagement_routed", AGG.rsplit(":", 1)[1])]
    assert emits[0].event.aggregate_id == AGG and state.waiting == ()


def test_an_event_whose_send_never_comes_raises_out_004_after_the_bound() -> None:
    state, _ = run([about(event(1)), about(event(2, "bounced"))])
    early = decide_placement(state, check(), T0 + timedelta(seconds=WAIT - 1), STABLE_IDS, WAIT)
    assert early.emits == () and len(early.state.waiting) == 2
    late = decide_placement(state, check(), T0 + timedelta(seconds=WAIT + 1), STABLE_IDS, WAIT)
    assert [e.event.code for e in late.emits] == ["OUT-004", "OUT-004"]
    assert all(e.event.severity == "low" for e in late.emits)
    assert late.state.waiting == ()


def test_a_second_send_record_changes_nothing() -> None:
    state, _ = run([placed()])
    again = decide_placement(state, placed("other:ffff"), T0, STABLE_IDS, WAIT)
    assert again.state is state and again.emits == ()


@pytest.mark.parametrize(("status", "message_id", "expected"), [
    ("sent", "msg-1", True), ("failed", "msg-1", False), ("sent", None, False)])
def test_only_sent_messages_with_an_id_are_recorded(status: str, message_id: str | None,
                                                      expected: bool) -> None:
    sent = SendRecorded(event_id="s", occurred_at=T0, correlation_id="c",
                        process_id="outreach-execution-send-20261125-0a1b2c3d", aggregate_id=AGG,
                        contact_key="k", touch_index=1, idempotency_key="k1", status=status,
                        provider_message_id=message_id)
    assert (placement_for(sent) is not None) is expected


@pytest.mark.parametrize(("waited", "expired"), [(0, 0), (WAIT, 0), (WAIT + 1, 1)])
def test_the_timer_asks_exactly_when_the_check_expires_something(waited: float,
                                                                 expired: int) -> None:
    # One rule for both: the timer sends a check when late() finds events, and the check
    # expires exactly those.
    state, _ = run([about(event(1))])
    now = T0 + timedelta(seconds=waited)
    decision = decide_placement(state, check(), now, STABLE_IDS, WAIT)
    assert len(late(state, now, WAIT)) == expired == len(decision.emits)
    nudge = placement_check("msg-1", state, now, WAIT)
    assert (nudge is not None) == bool(expired)
    if nudge is not None:
        assert (nudge.topic, nudge.key) == ("engagement_placement", "msg-1")
        assert decide_placement(state, nudge.event, now, STABLE_IDS, WAIT) == decision
