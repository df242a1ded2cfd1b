"""The live append is a compare-and-set (seed 002): a command carrying an expected version, an
aggregate or a touch index that does not match the person's active sequence is refused (no
touch, state unchanged), counted, and raised for an agent (SEQ-ESCALATED)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from agents.sequencer.definition import load_definitions
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.person_state import approved_campaign
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.decision import Count
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CheckDueTouches,
    EnrollContact,
    OutreachErrorRaised,
    TouchRequested,
)

KEY = "0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
LATER = datetime(2026, 6, 10, 12, tzinfo=UTC)
CTX = SequencerContext(
    campaign_status=approved_campaign,
    definitions=load_definitions(), caps=DailyCaps(), ids=STABLE_IDS,
                       window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))))


def enrolled() -> PersonState:
    cmd = EnrollContact(enrollment_id="e-1", contact_key=KEY, lead_id="l-1",
                        strategy="PERSONALIZED_EMAIL", to_email="jane@example.invalid",
                        correlation_id="corr-1", requested_at=T0)
    return decide_person(PersonState(contact_key=KEY), cmd, T0, CTX).state


def check(**cas: Any) -> CheckDueTouches:
    return CheckDueTouches(contact_key=KEY, issued_at=LATER, **cas)


def test_a_current_command_takes_the_touch_under_its_own_key() -> None:
    state = enrolled()
    assert state.active is not None
    version = state.active.projection.version
    d = decide_person(state, check(aggregate_id=state.active.aggregate_id,
                                   expected_version=version, idempotency_key="caller-key-2"),
                      LATER, CTX)
    [request] = [e.event for e in d.emits if isinstance(e.event, TouchRequested)]
    assert (request.touch_index, request.idempotency_key) == (2, "caller-key-2")


def test_a_redelivered_command_appends_nothing_and_raises_nothing() -> None:
    state = enrolled()
    assert state.active is not None
    command = check(aggregate_id=state.active.aggregate_id,
                    expected_version=state.active.projection.version,
                    idempotency_key="caller-key-2")
    after = decide_person(state, command, LATER, CTX).state
    # Delivered again after its touch was appended (the version has moved on since).
    again = decide_person(after, command, LATER, CTX)
    assert again.state is after and not again.emits and not again.effects


@pytest.mark.parametrize(("cas", "reason"), [
    ({"expected_version": 0}, "version_conflict"),
    ({"aggregate_id": "other-seq-1:" + KEY}, "aggregate_mismatch"),
    ({"current_touch_index": 0}, "touch_index_mismatch"),
])
def test_a_stale_command_is_refused_and_counted(cas: dict[str, Any], reason: str) -> None:
    state = enrolled()
    d = decide_person(state, check(**cas), LATER, CTX)
    assert d.state is state  # nothing appended, nothing re-scheduled
    assert [type(e.event) for e in d.emits] == [OutreachErrorRaised]
    error = d.emits[0].event
    assert isinstance(error, OutreachErrorRaised)
    assert error.code == "SEQ-ESCALATED" and error.record["failure"] == reason
    assert d.effects == (Count("sequencer_commands_refused_total", (("reason", reason),)),)
    # Redelivered, the refusal is the same record (same event id).
    assert decide_person(state, check(**cas), LATER, CTX).emits == d.emits


def test_a_command_for_a_person_without_a_sequence_is_refused() -> None:
    d = decide_person(PersonState(contact_key=KEY), check(expected_version=3), LATER, CTX)
    assert d.effects == (Count("sequencer_commands_refused_total",
                               (("reason", "projection_missing"),)),)


def test_a_nudge_without_a_version_is_decided_as_always() -> None:
    state = enrolled()
    d = decide_person(state, check(), LATER, CTX)
    assert [type(e.event).__name__ for e in d.emits] == ["TouchRequested",
                                                          "SequenceEventAppended"]
