"""One decision per input of the per-person engagement stage (pure): which rule an input meets.

A send report teaches the person's fold which company and campaign the aggregate belongs to
and, when the provider named the message, tells the placement fold (events that name only the
message find their aggregate there); a provider event is recorded and signalled; a check
expires the signals held too long for their send (OUT-004).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agents.engagement.core import (
    EngagementState,
    contact_key_of,
    decide_event,
    expire_pending,
    on_send,
    overdue,
)
from agents.engagement.placement import placement_for
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models import (
    PendingSignalsCheckDue,
    ProviderEventNormalized,
    SendRecorded,
)

PersonInput = ProviderEventNormalized | SendRecorded | PendingSignalsCheckDue


@dataclass(frozen=True, slots=True)
class EngagementContext:
    ids: IdFactory
    calendar_secret: bytes
    wait_seconds: float  # how long a signal waits for its send (and an event for placement)


def key_of(item: PersonInput) -> str:
    if isinstance(item, ProviderEventNormalized):
        return contact_key_of(item.aggregate_id or "")
    return item.contact_key


def decide_person(state: EngagementState, item: PersonInput, now: datetime,
                  ctx: EngagementContext) -> Decision[EngagementState]:
    if isinstance(item, PendingSignalsCheckDue):
        return expire_pending(state, item.contact_key, now, ctx.ids, ctx.wait_seconds)
    if isinstance(item, SendRecorded):
        decision, placed = on_send(state, item, ctx.ids), placement_for(item)
        if placed is None:
            return decision
        return Decision(decision.state, (*decision.emits, placed), decision.effects)
    return decide_event(state, item, now, ctx.ids, ctx.calendar_secret)


def held_signals_check(key: str, state: EngagementState, now: datetime, wait_seconds: float
                       ) -> Emit | None:
    """The timer's nudge for a person holding signals past the wait (the check is
    idempotent: a second one finds nothing to expire)."""
    if not overdue(state, now, wait_seconds):
        return None
    return Emit("engagement_checks", key, PendingSignalsCheckDue(contact_key=key, issued_at=now))
