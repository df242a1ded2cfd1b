"""Engagement per person, pure: provider events -> engagement records and CL signals.

Keyed by contact_key, like the sequencer and the sender, so a person's sends (which say which
company and campaign an aggregate belongs to) and the provider's events about them meet on one
partition. Provider events arrive at least once and in any order: each is applied once, by
provider event id.
"""

from __future__ import annotations

from datetime import datetime

from agents.sender.calendar_link import verify
from agents.sender.exceptions import CalendarLinkError
from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.base import Frozen
from streams.contracts.models.engagement import (
    EngagementRecorded,
    EngagementSignalled,
    ProviderEventNormalized,
    SignalName,
)
from streams.contracts.models.errors import SEVERITY, OutreachErrorRaised
from streams.contracts.models.send import SendRecorded

SEEN_KEPT = 256
SENDS_KEPT = 16

SIGNALS: dict[str, SignalName] = {
    "opened": "engaged", "clicked": "engaged", "replied": "replied",
    "meeting_booked": "meeting_booked", "unsubscribed": "unsubscribed",
    "complained": "unsubscribed",
}


class KnownSend(Frozen):
    aggregate_id: str
    company_sov_id: str | None
    campaign_id: str | None
    correlation_id: str


class PendingSignal(Frozen):
    """A signal for a send the engagement stage has not seen yet (webhooks can overtake it)."""

    dedupe: str
    signal: SignalName
    aggregate_id: str
    occurred_at: datetime


class EngagementState(Frozen):
    seen: tuple[str, ...] = ()  # provider:provider_event_id, most recent last
    sends: tuple[KnownSend, ...] = ()
    pending: tuple[PendingSignal, ...] = ()


def contact_key_of(aggregate_id: str) -> str:
    """Aggregates are `{sequence_id}:{contact_key}`: the person is the last segment."""
    return aggregate_id.rsplit(":", 1)[-1]


def signal_for(event: ProviderEventNormalized) -> SignalName | None:
    if event.type == "bounced":
        return "bounced" if event.bounce_kind == "hard" else None
    return SIGNALS.get(event.type)


def on_send(state: EngagementState, sent: SendRecorded, ids: IdFactory
            ) -> Decision[EngagementState]:
    """Remember which company and campaign an aggregate's sends belong to; release signals
    that were waiting for it."""
    if sent.status != "sent" or any(k.aggregate_id == sent.aggregate_id for k in state.sends):
        return Decision(state)
    known = KnownSend(aggregate_id=sent.aggregate_id, company_sov_id=sent.company_sov_id,
                      campaign_id=sent.campaign_id, correlation_id=sent.correlation_id)
    waiting = tuple(p for p in state.pending if p.aggregate_id == sent.aggregate_id)
    after = state.model_copy(update={
        "sends": (*state.sends, known)[-SENDS_KEPT:],
        "pending": tuple(p for p in state.pending if p.aggregate_id != sent.aggregate_id)})
    emits = tuple(_signal(known, p.dedupe, p.signal, p.occurred_at, ids) for p in waiting
                  if known.company_sov_id is not None)
    return Decision(after, emits, tuple(Count("cl_signals_total", (("signal", p.signal),))
                                        for p in waiting if known.company_sov_id is not None))


def _signal(known: KnownSend, dedupe: str, signal: SignalName, at: datetime, ids: IdFactory
            ) -> Emit:
    assert known.company_sov_id is not None
    return Emit("cl_signals", known.company_sov_id, EngagementSignalled(
        event_id=ids.event_id("cl-signal", dedupe), occurred_at=at,
        correlation_id=known.correlation_id, process_id=ids.process_id("engage", at, dedupe),
        company_sov_id=known.company_sov_id, signal=signal, aggregate_id=known.aggregate_id,
        campaign_id=known.campaign_id))


def overdue(state: EngagementState, now: datetime, wait_seconds: float
            ) -> tuple[PendingSignal, ...]:
    return tuple(p for p in state.pending if (now - p.occurred_at).total_seconds() > wait_seconds)


def decide_event(
    state: EngagementState, event: ProviderEventNormalized, now: datetime, ids: IdFactory,
    calendar_secret: bytes,
) -> Decision[EngagementState]:
    dedupe = f"{event.provider}:{event.provider_event_id}"
    if dedupe in state.seen or event.aggregate_id is None:
        return Decision(state, effects=(Count("engagement_events_total",
                                              (("type", event.type), ("outcome", "duplicate"))),))
    seen = state.model_copy(update={"seen": (*state.seen, dedupe)[-SEEN_KEPT:]})
    known = next((k for k in state.sends if k.aggregate_id == event.aggregate_id), None)
    correlation = known.correlation_id if known else f"aggregate:{event.aggregate_id}"
    process_id = ids.process_id("engage", event.occurred_at, dedupe)
    contact_key = contact_key_of(event.aggregate_id)
    if event.type == "meeting_booked":
        problem = _calendar_problem(event, now, calendar_secret)
        if problem is not None:  # tampered or expired: no signal, the record is kept
            return Decision(seen, (Emit("errors", contact_key, OutreachErrorRaised(
                event_id=ids.event_id("meeting-rejected", dedupe), occurred_at=now,
                correlation_id=correlation, process_id=process_id, code="DLQ-INVALID-EVENT",
                severity=SEVERITY["DLQ-INVALID-EVENT"], stage="engagement", reason=problem,
                subject_id=event.aggregate_id, record=event.model_dump(mode="json"))),),
                (Count("engagement_events_total", (("type", event.type),
                                                   ("outcome", "rejected"))),))
    company = known.company_sov_id if known else None
    campaign = known.campaign_id if known else None
    emits = [Emit("engagement_events", contact_key, EngagementRecorded(
        event_id=ids.event_id("engagement", dedupe), occurred_at=event.occurred_at,
        correlation_id=correlation, process_id=process_id, aggregate_id=event.aggregate_id,
        contact_key=contact_key, campaign_id=campaign, company_sov_id=company,
        provider=event.provider, provider_event_id=event.provider_event_id, type=event.type,
        bounce_kind=event.bounce_kind, provider_message_id=event.provider_message_id,
        idempotency_key=event.idempotency_key))]
    effects = [Count("engagement_events_total", (("type", event.type), ("outcome", "applied")))]
    signal = signal_for(event)
    if signal is not None and known is not None and known.company_sov_id is not None:
        emits.append(_signal(known, dedupe, signal, event.occurred_at, ids))
        effects.append(Count("cl_signals_total", (("signal", signal),)))
    elif signal is not None and known is None:
        wait = PendingSignal(dedupe=dedupe, signal=signal, aggregate_id=event.aggregate_id,
                             occurred_at=event.occurred_at)
        seen = seen.model_copy(update={"pending": (*seen.pending, wait)})
    return Decision(seen, tuple(emits), tuple(effects))


def expire_pending(state: EngagementState, contact_key: str, now: datetime, ids: IdFactory,
                   wait_seconds: float) -> Decision[EngagementState]:
    """Signals whose send never showed up in time: OUT-004, engagement tracking delayed."""
    late = overdue(state, now, wait_seconds)
    if not late:
        return Decision(state)
    errors = tuple(Emit("errors", contact_key, OutreachErrorRaised(
        event_id=ids.event_id("tracking-delayed", p.dedupe), occurred_at=now,
        correlation_id=f"aggregate:{p.aggregate_id}",
        process_id=ids.process_id("engage", p.occurred_at, p.dedupe), code="OUT-004",
        severity=SEVERITY["OUT-004"], stage="engagement",
        reason=f"no send of {p.aggregate_id} known {wait_seconds:.0f}s after its "
               f"{p.signal} event; the CL signal is held back",
        subject_id=p.aggregate_id, record=p.model_dump(mode="json"))) for p in late)
    kept = tuple(p for p in state.pending if p not in late)
    return Decision(state.model_copy(update={"pending": kept}), errors)


def _calendar_problem(event: ProviderEventNormalized, now: datetime, secret: bytes) -> str | None:
    if not event.calendar_link:
        return "meeting_booked without the hub's signed calendar link"
    try:
        claim = verify(event.calendar_link, secret, now)
    except CalendarLinkError as exc:
        return f"calendar link rejected: {exc}"
    if claim.sid != event.aggregate_id:
        return "calendar link was issued for another sequence"
    return None
