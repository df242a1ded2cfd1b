"""Placing provider events that carry no aggregate_id: by the provider's message id (pure).

Keyed by provider_message_id, the hub's own record of which aggregate sent a message meets the
events about that message, in whichever order they arrive. An event that finds no send within
the bound raises OUT-004 (engagement tracking delayed) and is kept in the error record.
"""

from __future__ import annotations

from datetime import datetime

from agents.engagement.core import contact_key_of
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.base import Frozen
from streams.contracts.models.engagement import MessagePlacement, ProviderEventNormalized
from streams.contracts.models.errors import SEVERITY, OutreachErrorRaised
from streams.contracts.models.send import SendRecorded

WAITING_KEPT = 50


class Waiting(Frozen):
    event: ProviderEventNormalized
    since: datetime


class MessageState(Frozen):
    aggregate_id: str | None = None
    waiting: tuple[Waiting, ...] = ()


def placement_for(sent: SendRecorded) -> Emit | None:
    """The hub's record that message M is aggregate A's send, for events that name only M."""
    if sent.status != "sent" or not sent.provider_message_id:
        return None
    return Emit("engagement_placement", sent.provider_message_id, MessagePlacement(
        provider_message_id=sent.provider_message_id, aggregate_id=sent.aggregate_id,
        issued_at=sent.occurred_at))


def late(state: MessageState, now: datetime, wait_seconds: float) -> tuple[Waiting, ...]:
    """Events that waited longer than ``wait_seconds`` for their send (the timer asks, the
    fold expires them)."""
    return tuple(w for w in state.waiting if (now - w.since).total_seconds() > wait_seconds)


def placement_check(key: str, state: MessageState, now: datetime, wait_seconds: float
                    ) -> Emit | None:
    """The timer's nudge for a message whose events waited too long for its send."""
    if not late(state, now, wait_seconds):
        return None
    return Emit("engagement_placement", key, MessagePlacement(provider_message_id=key,
                                                              issued_at=now))


def _routed(event: ProviderEventNormalized, aggregate_id: str) -> Emit:
    key = contact_key_of(aggregate_id)
    placed = event.model_copy(update={"aggregate_id": aggregate_id, "contact_key": key})
    return Emit("engagement_routed", key, placed)


def decide_placement(state: MessageState, item: MessagePlacement, now: datetime,
                     ids: IdFactory, wait_seconds: float) -> Decision[MessageState]:
    if item.aggregate_id is not None:  # the send of this message
        if state.aggregate_id is not None:
            return Decision(state)
        released = tuple(_routed(w.event, item.aggregate_id) for w in state.waiting)
        return Decision(MessageState(aggregate_id=item.aggregate_id), released)
    if item.event is not None:  # an event about it
        if state.aggregate_id is not None:
            return Decision(state, (_routed(item.event, state.aggregate_id),))
        waiting = (*state.waiting, Waiting(event=item.event, since=now))[-WAITING_KEPT:]
        return Decision(state.model_copy(update={"waiting": waiting}))
    expired = late(state, now, wait_seconds)
    if not expired:
        return Decision(state)
    errors = tuple(Emit("errors", item.provider_message_id, OutreachErrorRaised(
        event_id=ids.event_id("unplaced", w.event.provider, w.event.provider_event_id),
        occurred_at=now, correlation_id=f"message:{item.provider_message_id}",
        process_id=ids.process_id("engage", w.event.occurred_at, w.event.provider_event_id),
        code="OUT-004", severity=SEVERITY["OUT-004"], stage="engagement",
        reason=f"no send of provider message {item.provider_message_id} known "
               f"{wait_seconds:.0f}s after its {w.event.type} event",
        subject_id=item.provider_message_id, record=w.event.model_dump(mode="json")))
        for w in expired)
    return Decision(state.model_copy(update={
        "waiting": tuple(w for w in state.waiting if w not in expired)}), errors)
