"""A provider event that ends a sequence, read by the sequencer where it lands: the same stop,
under the same key, as the engagement stage's record of it (agents/sequencer/reply.py)."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from agents.engagement.core import EngagementState, decide_event
from agents.sequencer.person import PersonState, decide_person
from agents.sequencer.reply import stops_in
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import EngagementRecorded, ProviderEventNormalized
from tests.unit.sequencer.test_sequencer_person import CTX, DAY, KEY, T0, appended, enrolled

AGG = f"seq-hot:{KEY}"


def body(kind: str, aggregate_id: str | None = AGG, bounce_kind: str | None = None,
         n: int = 1) -> bytes:
    return orjson.dumps({"provider": "hub", "provider_event_id": f"e{n}", "type": kind,
                         "occurred_at": "2026-06-02T12:00:00Z", "aggregate_id": aggregate_id,
                         "bounce_kind": bounce_kind, "provider_message_id": "m-1"})


@pytest.mark.parametrize(("kind", "bounce", "taken"), [
    ("replied", None, True), ("unsubscribed", None, True), ("complained", None, True),
    ("bounced", "hard", True), ("bounced", "soft", False), ("opened", None, False),
    ("clicked", None, False), ("auto_replied", None, False),
    ("meeting_booked", None, False),  # counts only once the engagement stage checked its link
])
def test_only_events_that_end_a_sequence_are_taken(kind: str, bounce: str | None,
                                                   taken: bool) -> None:
    events = stops_in(body(kind, bounce_kind=bounce), lambda _key: True)
    assert [(e.type, e.contact_key) for e in events] == ([(kind, KEY)] if taken else [])


NOWHERE = orjson.dumps({"provider": "hub", "provider_event_id": "e2", "type": "opened",
                        "occurred_at": "2026-06-02T12:00:00Z"})  # names no person, no message


@pytest.mark.parametrize("raw", [
    b"{not json", b"[]", body("replied", aggregate_id=None), orjson.dumps({"provider": "hub"}),
    orjson.dumps([orjson.loads(body("replied")), orjson.loads(NOWHERE)]),  # a dead letter
])
def test_a_body_it_cannot_use_yields_nothing_here(raw: bytes) -> None:
    assert stops_in(raw, lambda _key: True) == []  # the engagement stage dead-letters it


def test_an_event_of_a_person_on_another_partition_is_left_to_the_engagement_path() -> None:
    assert stops_in(body("replied"), lambda key: key != KEY) == []
    two = orjson.dumps([orjson.loads(body("replied", n=1)),
                        orjson.loads(body("unsubscribed", f"seq-hot:{'f' * 32}", n=2))])
    assert [e.contact_key for e in stops_in(two, {KEY}.__contains__)] == [KEY]


def recorded(event: ProviderEventNormalized) -> EngagementRecorded:
    """What the engagement stage makes of the same provider event."""
    decision = decide_event(EngagementState(), event, T0 + DAY, STABLE_IDS, b"secret")
    return next(e.event for e in decision.emits if isinstance(e.event, EngagementRecorded))


@pytest.mark.parametrize(("kind", "bounce"), [("replied", None), ("unsubscribed", None),
                                              ("complained", None), ("bounced", "hard")])
@pytest.mark.parametrize("webhook_first", [True, False])
def test_either_copy_stops_the_sequence_once_and_the_other_changes_nothing(
        kind: str, bounce: str | None, webhook_first: bool) -> None:
    start = enrolled().state
    assert start.active is not None
    aggregate = start.active.aggregate_id
    [event] = stops_in(body(kind, aggregate, bounce), lambda _key: True)
    copies: list[ProviderEventNormalized | EngagementRecorded] = [event, recorded(event)]
    first, second = copies if webhook_first else copies[::-1]
    now = T0 + DAY
    d1 = decide_person(start, first, now, CTX)
    d2 = decide_person(d1.state, second, now + timedelta(seconds=1), CTX)
    assert [(e.type, e.status) for e in appended(d1)] == [("sequence_stopped", "stopped")]
    assert d2.emits == () and d2.state == d1.state
    # Byte for byte what the engagement record alone decides.
    alone = decide_person(start, recorded(event), now, CTX)
    assert d1.emits == alone.emits and d1.state == alone.state


def test_a_person_with_no_state_here_is_suppressed_as_by_the_record() -> None:
    [event] = stops_in(body("unsubscribed"), lambda _key: True)
    fresh = PersonState(contact_key=KEY)
    by_webhook = decide_person(fresh, event, T0, CTX)
    assert by_webhook.state == decide_person(fresh, recorded(event), T0, CTX).state
    assert by_webhook.state.suppressed == "unsubscribed"
