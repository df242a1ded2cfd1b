"""The sequencer table's compact form loses nothing the fold reads back."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.sequencer.definition import load_definitions
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.person_state import approved_campaign
from agents.sequencer.storage import decode, encode, next_due_of
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CheckDueTouches,
    EngagementRecorded,
    EnrollContact,
    MergeFields,
)

KEY = "0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 11, 23, 15, tzinfo=UTC)
CTX = SequencerContext(
    campaign_status=approved_campaign,
    definitions=load_definitions(), caps=DailyCaps(), ids=STABLE_IDS,
                       window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))))
PID = "outreach-execution-engage-20261123-0a1b2c3d"


def without_decisions(state: PersonState) -> PersonState:
    if state.active is None:
        return state
    events = tuple(e.model_copy(update={"decision": None}) for e in state.active.projection.events)
    projection = state.active.projection.model_copy(update={"events": events})
    return state.model_copy(update={"active": state.active.model_copy(
        update={"projection": projection})})


JANE = MergeFields(first_name="Jane", last_name="Doe", title="Head of Sales",
                   company_name="Acme Roofing")
MERGES = (None, JANE, MergeFields(first_name="Zoë"), MergeFields(company_name='Acme "AB"'))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["enroll", "check", "replied", "opened", "unsubscribed"]),
                max_size=14), st.sampled_from(["PERSONALIZED_EMAIL", "PHONE_AND_EMAIL"]),
       st.sampled_from(MERGES))
def test_decode_of_encode_is_the_state_without_decisions(
        steps: list[str], strategy: str, merge: MergeFields | None) -> None:
    state, now = PersonState(contact_key=KEY), T0
    for n, step in enumerate(steps):
        now += timedelta(days=1, hours=n)
        item: object
        if step == "enroll":
            item = EnrollContact(enrollment_id=f"e-{n}", contact_key=KEY, lead_id=f"l-{n}",
                                 strategy=strategy, to_email="jane@acme.example",
                                 timezone="Europe/Berlin", correlation_id="c", requested_at=now,
                                 merge_fields=merge)
        elif step == "check":
            item = CheckDueTouches(contact_key=KEY, issued_at=now)
        else:
            aggregate = state.active.aggregate_id if state.active else "gone"
            item = EngagementRecorded(event_id=f"ev-{n}", occurred_at=now, correlation_id="c",
                                      process_id=PID, aggregate_id=aggregate, contact_key=KEY,
                                      provider="sendgrid", provider_event_id=f"p-{n}", type=step)
        state = decide_person(state, item, now, CTX).state  # type: ignore[arg-type]
        stored = encode(state)
        # (compared as data: the projection caches a fold that still holds the decisions)
        assert decode(KEY, stored).model_dump() == without_decisions(state).model_dump()
        assert encode(decode(KEY, stored)) == stored
        # The due index reads the due time alone from the stored form.
        due = state.next_due_at
        assert next_due_of(stored) == (None if due is None else due.timestamp())


def test_an_unknown_format_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="format"):
        decode(KEY, "[99, 1, null, [], [], null, null]")
    with pytest.raises(ValueError, match="format"):
        next_due_of("[99, 1, null, [], [], null, null]")



def _stored_after_two_touches(merge: MergeFields | None) -> str:
    enroll = EnrollContact(enrollment_id="e-1", contact_key=KEY, lead_id="l-1",
                           strategy="PERSONALIZED_EMAIL", to_email="jane.doe@acme.example",
                           timezone="America/Chicago", correlation_id="bit-1", requested_at=T0,
                           merge_fields=merge, company_sov_id="cmp_0001")
    state = decide_person(PersonState(contact_key=KEY), enroll, T0, CTX).state
    due = state.next_due_at
    assert due is not None
    return encode(decide_person(state, CheckDueTouches(contact_key=KEY, issued_at=due), due,
                                CTX).state)


def test_merge_fields_cost_only_their_own_bytes() -> None:
    """A person without merge fields is stored as before them; with them, their values plus a
    few bytes of JSON (the aggregate's memory stays well under 1 KiB)."""
    plain, named = _stored_after_two_touches(None), _stored_after_two_touches(JANE)
    values = len("Jane") + len("Doe") + len("Head of Sales") + len("Acme Roofing")
    assert len(named) - len(plain) == values + len('[]') + 4 * len('""') + 3 * len(",") + 1
    assert decode(KEY, named).active.merge_fields == JANE  # type: ignore[union-attr]
    assert decode(KEY, plain).active.merge_fields is None  # type: ignore[union-attr]
    assert len(named) < 1024
