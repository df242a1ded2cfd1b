"""Which rule each input of the per-person engagement stage meets (the worker's decide)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.engagement.core import EngagementState
from agents.engagement.person import (
    EngagementContext,
    decide_person,
    held_signals_check,
    key_of,
)
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    EngagementSignalled,
    MessagePlacement,
    OutreachErrorRaised,
    PendingSignalsCheckDue,
    ProviderEventNormalized,
    SendRecorded,
)

T0 = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
CONTACT = "ck-jane"
AGG = f"seq-roofing:{CONTACT}"
WAIT = 600.0
CTX = EngagementContext(STABLE_IDS, b"calendar-secret-0123456789abcdef", WAIT)


def send(message_id: str | None = "msg-1") -> SendRecorded:
    return SendRecorded(
        event_id="s-1", occurred_at=T0, correlation_id="corr-1",
        process_id="outreach-execution-send-20260302-0a1b2c3d", aggregate_id=AGG,
        contact_key=CONTACT, company_sov_id="cmp_1", touch_index=1,
        idempotency_key=f"{AGG}:step1", status="sent", provider_message_id=message_id)


def opened() -> ProviderEventNormalized:
    return ProviderEventNormalized(provider="mailgun", provider_event_id="ev-1", type="opened",
                                   aggregate_id=AGG, occurred_at=T0)


@pytest.mark.parametrize(("message_id", "placements"), [("msg-1", 1), (None, 0)])
def test_a_send_report_tells_placement_which_aggregate_sent_the_message(
        message_id: str | None, placements: int) -> None:
    item = send(message_id)
    decision = decide_person(EngagementState(), item, T0, CTX)
    assert key_of(item) == CONTACT
    assert [e.key for e in decision.emits if isinstance(e.event, MessagePlacement)] == (
        ["msg-1"] * placements)
    assert decision.state.sends[0].aggregate_id == AGG


def test_an_event_before_its_send_is_held_then_signalled_when_the_send_comes() -> None:
    held = decide_person(EngagementState(), opened(), T0, CTX)
    assert key_of(opened()) == CONTACT and held.state.pending
    released = decide_person(held.state, send(), T0, CTX)
    assert [type(e.event) for e in released.emits] == [EngagementSignalled, MessagePlacement]


@pytest.mark.parametrize(("waited", "nudged"), [(WAIT, False), (WAIT + 1, True)])
def test_the_timer_nudges_a_held_signal_exactly_when_the_check_expires_it(
        waited: float, nudged: bool) -> None:
    state = decide_person(EngagementState(), opened(), T0, CTX).state
    now = T0 + timedelta(seconds=waited)
    nudge = held_signals_check(CONTACT, state, now, WAIT)
    assert (nudge is not None) == nudged
    check = PendingSignalsCheckDue(contact_key=CONTACT, issued_at=now)
    expired = decide_person(state, check, now, CTX)
    assert [e.event.code for e in expired.emits if isinstance(e.event, OutreachErrorRaised)] == (
        ["OUT-004"] if nudged else [])
    if nudge is not None:
        assert (nudge.topic, nudge.key, nudge.event) == ("engagement_checks", CONTACT, check)
