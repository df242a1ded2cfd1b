"""The provider events that end a sequence, read by the sequencer where they land (pure).

A reply, an unsubscribe, a complaint or a hard bounce ends the person's sequence (core.py's
stop policy). The engagement stage records each and the sequencer stops on that record: two
hops after the webhook. The sequencer also reads ``email-provider.events`` itself and takes an
event that lands on its person's partition (the hub's ingress keys a body by its person) as it
would take the engagement stage's record of it: the same sequence event under the same
idempotency key (person.py), so whichever copy comes first is applied and the other changes
nothing. The stop is then one hop after the webhook.

Decisions:
- A meeting booked is left to the engagement stage: it counts only with a valid, unexpired
  calendar link, which that stage verifies; opens, clicks and soft bounces end nothing and
  reach the sequence by the engagement record as before.
- A body this module cannot read, or that the engagement stage dead-letters (an event naming
  neither a person nor a message: `route.placeable`), yields nothing here: that stage reads
  the same body and dead-letters it with the reason, once, and none of it stops a sequence.
- An event on another partition is left to the engagement path: the person's state is not here.
"""

from __future__ import annotations

from collections.abc import Callable

from agents.engagement.core import contact_key_of
from agents.engagement.normalize import normalize
from agents.engagement.route import placeable
from agents.sequencer.definition import STOP_EVENTS
from streams.contracts.exceptions import InvalidInput
from streams.contracts.models import ProviderEventNormalized

# The stop floor (projection.py's `is_stop_signal`) but for a meeting booked.
ENDING = STOP_EVENTS - {"meeting_booked"}


def ends_a_sequence(event: ProviderEventNormalized) -> bool:
    return event.type in ENDING and not (event.type == "bounced" and event.bounce_kind == "soft")


def stops_in(raw: bytes, home: Callable[[str], bool]) -> list[ProviderEventNormalized]:
    """The body's events that end a sequence and whose person's state is on this partition
    (`home(contact_key)`), in body order, each with its contact key set."""
    try:
        events = normalize(raw)
    except (InvalidInput, ValueError):  # pydantic's ValidationError is a ValueError
        return []
    if not placeable(events):  # a dead letter, all of it: nothing of it stops a sequence
        return []
    taken = []
    for event in events:
        if event.aggregate_id is None or not ends_a_sequence(event):
            continue
        key = contact_key_of(event.aggregate_id)
        if home(key):
            taken.append(event.model_copy(update={"contact_key": key}))
    return taken
