"""The person fold builds its models without validating them, folds each append onto the last
fold, and decode() trusts the table: all of it must give the very objects validation gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from agents.sequencer.definition import load_definitions
from agents.sequencer.exceptions import InvalidSequenceInput
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.person_state import FinishedSequence, approved_campaign
from agents.sequencer.projection import (
    SequenceEventRecord,
    SequenceProjection,
    fold_events,
    trusted,
)
from agents.sequencer.storage import decode, encode
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts import codec
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CheckDueTouches,
    EngagementRecorded,
    EnrollContact,
    SendRecorded,
)
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.models.send import TouchRequested

KEY = "0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 11, 23, 15, tzinfo=UTC)
CTX = SequencerContext(
    campaign_status=approved_campaign,
    definitions=load_definitions(), caps=DailyCaps(), ids=STABLE_IDS,
                       window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))))
PID = "outreach-execution-engage-20261123-0a1b2c3d"
# Not UTC: the events keep the caller's `now`, the state and the records normalise it.
BERLIN = timezone(timedelta(hours=1))


def revalidated(model: BaseModel) -> BaseModel:
    return type(model).model_validate(model.model_dump())


def assert_as_validated(model: BaseModel, same_dump: bool = True) -> None:
    again = revalidated(model)
    assert again == model  # fields, nested models and (for projections) the cached fold
    assert list(model.__dict__) == list(type(model).model_fields)  # dumps keep their key order
    if same_dump:
        assert codec.dumps(model) == codec.dumps(again)


def enroll(n: int, strategy: str, now: datetime) -> EnrollContact:
    return EnrollContact(enrollment_id=f"e-{n}", contact_key=KEY, lead_id=f"l-{n}",
                         strategy=strategy, to_email="jane@Acme.example", timezone="Europe/Berlin",
                         campaign_id="camp-1", correlation_id="c", requested_at=now)


def item_for(step: str, n: int, state: PersonState, now: datetime, strategy: str) -> Any:
    if step == "enroll":
        return enroll(n, strategy, now)
    if step == "check":
        return CheckDueTouches(contact_key=KEY, issued_at=now)
    aggregate = state.active.aggregate_id if state.active else "gone"
    if step == "sent":
        last = state.active.projection.last_touch_index if state.active else 1
        return SendRecorded(event_id=f"s-{n}", occurred_at=now, correlation_id="c",
                            process_id="outreach-execution-send-20261123-0a1b2c3d",
                            aggregate_id=aggregate, contact_key=KEY, touch_index=max(last, 1),
                            idempotency_key=f"{aggregate}:step{last}", status="sent")
    return EngagementRecorded(event_id=f"ev-{n}", occurred_at=now, correlation_id="c",
                              process_id=PID, aggregate_id=aggregate, contact_key=KEY,
                              provider="sendgrid", provider_event_id=f"p-{n}", type=step)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["enroll", "check", "check", "check", "sent", "opened",
                                 "replied", "unsubscribed"]), max_size=20),
       st.sampled_from(["PERSONALIZED_EMAIL", "PHONE_AND_EMAIL"]), st.booleans(),
       st.sampled_from([UTC, BERLIN]))
def test_what_the_fold_builds_is_what_validation_builds(
    steps: list[str], strategy: str, through_table: bool, zone: timezone
) -> None:
    state, now = PersonState(contact_key=KEY), T0.astimezone(zone)
    for n, step in enumerate(steps):
        now += timedelta(days=1, hours=n)
        d: Decision[PersonState] = decide_person(
            state, item_for(step, n, state, now, strategy), now, CTX)
        for emit in d.emits:
            assert_as_validated(emit.event)
        # (as before, the state in memory keeps the zone of `now` in two timestamps; validation
        # moves them to UTC, the same instants)
        assert_as_validated(d.state, same_dump=zone is UTC)
        if d.state.active is not None:
            projection = d.state.active.projection
            assert projection.fold == fold_events(projection.events)
        decoded = decode(KEY, encode(d.state))
        assert_as_validated(decoded)
        assert decoded == d.state  # the person fold records no decisions: nothing is dropped
        state = decoded if through_table else d.state


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(
    st.sampled_from(["touch_requested", "touch_sent", "opened", "replied", "bounced",
                     "sequence_stopped", "completed", "auto_replied"]),
    st.integers(1, 4), st.integers(0, 500), st.sampled_from([None, "k1", "k2", "k3"]),
    st.sampled_from([None, "hard", "soft"])), max_size=12))
def test_folding_one_more_event_equals_folding_them_all(
    events: list[tuple[str, int, int, str | None, str | None]]
) -> None:
    projection = SequenceProjection(aggregate_id="a", version=0)
    for kind, index, hours, key, bounce in events:
        record = SequenceEventRecord(
            type=kind, touch_index=index if kind.startswith("touch") else None,
            occurred_at=T0 + timedelta(hours=hours), idempotency_key=key,
            bounce_kind=bounce if kind == "bounced" else None)
        projection = projection.appended(record)
        rebuilt = SequenceProjection(aggregate_id="a", version=projection.version,
                                     events=projection.events)
        assert projection.fold == rebuilt.fold
        assert projection == rebuilt


def test_trusted_takes_every_field_in_order_and_nothing_else() -> None:
    good = {"aggregate_id": "a", "status": "completed", "reason": None, "ended_at": T0}
    assert trusted(FinishedSequence, good) == FinishedSequence(
        aggregate_id="a", status="completed", reason=None, ended_at=T0)
    with pytest.raises(TypeError):
        trusted(FinishedSequence, {k: v for k, v in good.items() if k != "reason"})  # missing
    with pytest.raises(TypeError):
        trusted(FinishedSequence, dict(reversed(good.items())))  # reordered
    with pytest.raises(TypeError):
        trusted(FinishedSequence, {**good, "extra": 1})
    with pytest.raises(TypeError):  # its cached fold needs a constructor of its own
        trusted(SequenceProjection, {"aggregate_id": "a", "version": 0, "events": ()})


def test_a_step_key_another_writer_took_is_escalated() -> None:
    """Unreachable from the shell's own nudges (a step's key derives from the projection), yet
    answered: a key some other writer used is raised for an agent, and no touch goes out."""
    state = decide_person(PersonState(contact_key=KEY), enroll(1, "PERSONALIZED_EMAIL", T0), T0,
                          CTX).state
    assert state.active is not None
    key = f"{state.active.aggregate_id}:step2"
    projection = state.active.projection.appended(SequenceEventRecord(
        type="opened", occurred_at=T0, idempotency_key=key))
    state = state.model_copy(update={"active": state.active.model_copy(
        update={"projection": projection})})
    later = T0 + timedelta(days=5)
    d = decide_person(state, CheckDueTouches(contact_key=KEY, issued_at=later), later, CTX)
    [emit] = d.emits
    assert isinstance(emit.event, OutreachErrorRaised)
    assert emit.event.code == "SEQ-ESCALATED"
    assert emit.event.reason == ("idempotency key was already used by a 'opened' append this "
                                 "sequencer did not decide")
    assert not any(isinstance(e.event, TouchRequested) for e in d.emits)


def test_a_naive_now_is_refused_as_before() -> None:
    naive = datetime(2026, 11, 23, 15)
    with pytest.raises(ValidationError):
        decide_person(PersonState(contact_key=KEY), enroll(1, "PERSONALIZED_EMAIL", T0), naive,
                      CTX)
    state = decide_person(PersonState(contact_key=KEY), enroll(1, "PERSONALIZED_EMAIL", T0), T0,
                          CTX).state
    with pytest.raises(InvalidSequenceInput):
        decide_person(state, CheckDueTouches(contact_key=KEY, issued_at=T0), naive, CTX)
