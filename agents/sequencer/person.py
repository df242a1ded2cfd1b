"""All sequences of one person, as a pure fold: (state, input, now, context) -> Decision.

The sequencer's table is keyed by contact_key, so the person's active sequence, their history
and the last time anyone contacted them are one value on one partition: "at most one active
sequence per person" and cooling-off across campaigns are local checks.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Literal

from agents.sequencer.campaign_quota import spend_quota
from agents.sequencer.caps import cap_keys
from agents.sequencer.core import Step, due_at, next_step, utc
from agents.sequencer.person_state import (
    ConsumeCap,
    FinishedSequence,
    PersonState,
    SequenceAggregate,
    SequencerContext,
)
from agents.sequencer.projection import (
    SequenceEventRecord,
    SequenceProjection,
    replace,
    trusted,
)
from agents.sequencer.refusal import escalation, refuse_stale
from agents.sequencer.window import cap_day
from streams.contracts.decision import ConsumeQuota, Count, Decision, Emit
from streams.contracts.models.engagement import EngagementRecorded, ProviderEventNormalized
from streams.contracts.models.send import SendRecorded, TouchRequested
from streams.contracts.models.sequence import (
    CheckDueTouches,
    EnrollContact,
    SequenceEventAppended,
    SequenceStatus,
)

__all__ = [
    "ConsumeCap", "FinishedSequence", "PersonState", "SequenceAggregate", "SequencerContext",
    "decide_person",
]

HISTORY_KEPT = 10
# A sequence that ended for one of these ends outreach to the person, across campaigns.
SUPPRESSING = frozenset({"unsubscribed", "complained", "bounced", "meeting_booked"})
ENROLLMENTS_KEPT = 8
# Campaign states in which nothing is sent; the terminal ones end the sequence.
HELD = frozenset({"requested", "draft", "scheduled", "paused"})
ENDED = frozenset({"cancelled", "completed", "rejected", "expired", "failed"})
OWN_APPENDS = frozenset({"touch_requested", "sequence_stopped", "sequence_completed"})


SequencerInput = (EnrollContact | CheckDueTouches | SendRecorded | EngagementRecorded
                  | ProviderEventNormalized)
PersonDecision = Decision[PersonState]


def decide_person(
    state: PersonState, item: SequencerInput, now: datetime, ctx: SequencerContext
) -> PersonDecision:
    if isinstance(item, EnrollContact):
        return _enroll(state, item, now, ctx)
    if isinstance(item, SendRecorded):
        if item.status != "sent":
            return Decision(state)  # the sender reports failures itself (OUT-003)
        record = SequenceEventRecord(type="touch_sent", touch_index=item.touch_index,
                                     occurred_at=item.occurred_at,
                                     idempotency_key=f"sent:{item.idempotency_key}")
        return _record(state, item.aggregate_id, record, now, ctx)
    if isinstance(item, EngagementRecorded | ProviderEventNormalized):
        # A provider event the sequencer read itself (reply.py) is the engagement stage's
        # record of it under the same key: whichever comes first is applied.
        if item.aggregate_id is None:
            return Decision(state)
        record = SequenceEventRecord(
            type=item.type, occurred_at=item.occurred_at, bounce_kind=item.bounce_kind,
            idempotency_key=f"engagement:{item.provider}:{item.provider_event_id}")
        return _record(state, item.aggregate_id, record, now, ctx)
    if (item.aggregate_id is not None or item.expected_version is not None
            or item.current_touch_index is not None):
        refused = refuse_stale(state, item, now, ctx)
        if refused is not None:
            return refused
    return _step(state, now, ctx, item.idempotency_key)


_TAKEN = Step("failure", 0)  # the step's key is taken: decided by no rule, escalated


def _enroll(
    state: PersonState, cmd: EnrollContact, now: datetime, ctx: SequencerContext
) -> PersonDecision:
    if cmd.enrollment_id in state.enrollments:
        return Decision(state)  # a redelivered enrollment
    seen = (*state.enrollments, cmd.enrollment_id)[-ENROLLMENTS_KEPT:]
    if state.suppressed is not None:
        return Decision(_bump(state, enrollments=seen), effects=(
            Count("sequencer_enrollments_total", (("outcome", "suppressed"),)),))
    if state.active is not None:
        # At most one active sequence per person: the new one is declined, not queued.
        return Decision(_bump(state, enrollments=seen),
                        effects=(Count("sequencer_enrollments_total", (("outcome", "declined"),)),))
    definition = ctx.definitions[cmd.strategy]
    # One sequence per enrollment: a person enrolled again later gets new ids and keys.
    run = hashlib.sha256(cmd.enrollment_id.encode()).hexdigest()[:10]
    sequence_id = f"{definition.sequence_id or cmd.strategy.lower()}-{run}"
    aggregate_id = f"{sequence_id}:{cmd.contact_key}"
    fields = {
        "aggregate_id": aggregate_id, "sequence_id": sequence_id, "strategy": cmd.strategy,
        "enrollment_id": cmd.enrollment_id, "campaign_id": cmd.campaign_id,
        "company_sov_id": cmd.company_sov_id, "correlation_id": cmd.correlation_id,
        "to_email": cmd.to_email, "timezone": cmd.timezone,
        "projection": SequenceProjection.trusted(aggregate_id, 0), "next_due_at": now,
        "merge_fields": cmd.merge_fields}
    if type(now) is not datetime or now.tzinfo is None:  # refused (or coerced) as it always was
        aggregate = SequenceAggregate.model_validate(fields)
    else:  # the command was validated, and a plain aware `now` needs no more than UTC
        aggregate = trusted(SequenceAggregate, fields | {"next_due_at": now.astimezone(UTC)})
    enrolled = _bump(state, active=aggregate, enrollments=seen)
    stepped = _step(enrolled, now, ctx)
    return Decision(stepped.state, stepped.emits,
                    (Count("sequencer_enrollments_total", (("outcome", "enrolled"),)),
                     *stepped.effects))


def _record(
    state: PersonState, aggregate_id: str, record: SequenceEventRecord, now: datetime,
    ctx: SequencerContext,
) -> PersonDecision:
    """Append a sender or engagement event to the active aggregate, then decide at once."""
    active = state.active
    if active is None or active.aggregate_id != aggregate_id:
        # About a sequence that has ended: nothing to append there, but consent withdrawn or a
        # meeting booked through an old email still ends outreach to the person.
        reason = _suppressing_reason(record)
        if reason is None or state.suppressed is not None:
            return Decision(state)
        suppressed = _bump(state, suppressed=reason)
        if active is None:
            return Decision(suppressed)
        return _finish(suppressed, "stopped", reason,
                       f"{active.aggregate_id}:step{active.projection.last_touch_index + 1}",
                       now, ctx)
    if record.idempotency_key in active.projection.applied_keys:
        return Decision(state)  # a duplicated webhook or send report changes nothing
    projection = active.projection.appended(record)
    updated = _bump(state, active=replace(active, projection=projection))
    return _step(updated, now, ctx)


def _step(state: PersonState, now: datetime, ctx: SequencerContext, key: str | None = None
          ) -> PersonDecision:
    active = state.active
    if active is None:
        return Decision(state)
    definition = ctx.definitions[active.strategy]
    projection = active.projection
    # The step's idempotency key: the command's, else derived from the projection (so it is
    # new for every step the worker takes).
    key = key or f"{active.aggregate_id}:step{projection.last_touch_index + 1}"
    at = utc(now, "now")
    last_contact = state.last_contact_at
    earlier = projection.applied_keys.get(key)
    if earlier is not None and (earlier.decision is not None or earlier.type in OWN_APPENDS):
        # A replay of a step already decided (a redelivered command under its key): nothing
        # appended twice. The person fold keeps no decision in its own appends, so their type
        # says the key is this sequencer's.
        return Decision(state)
    step = (_TAKEN if earlier is not None else
            next_step(definition, projection, at,
                      None if last_contact is None else utc(last_contact, "last_contact_at")))
    if step.kind != "stop":
        campaign_status = ctx.campaign_status(active.campaign_id)
        if campaign_status in ENDED:
            return _finish(state, "stopped", f"campaign_{campaign_status}", key, now, ctx)
        held_until = _campaign_hold(ctx, active.campaign_id, campaign_status, now)
        if held_until is not None:
            # Only an active campaign inside its approved window sends: a draft, a paused one
            # or one never heard of waits (a reply or unsubscribe still ends the sequence).
            return Decision(_due(state, held_until))
    if earlier is not None:  # another writer appended under this step's key: an agent looks
        return _escalate(state, f"idempotency key was already used by a {earlier.type!r} "
                                "append this sequencer did not decide", now, ctx)
    if step.kind == "wait":
        return Decision(_due(state, step.wait_until))
    if step.kind in ("stop", "complete"):
        reason = step.stop_state.reason if step.stop_state else None
        status: SequenceStatus = "stopped" if step.kind == "stop" else "completed"
        return _finish(state, status, reason, key, now, ctx, append=step.append is not None)
    touch = step.touch
    assert touch is not None and step.append is not None  # next_touch always carries both
    opens = ctx.window.next_open(now, active.timezone)
    if opens > now:
        return Decision(_due(state, opens))
    domain = active.to_email.rsplit("@", 1)[-1].lower()
    if touch.channel == "email" and _capped(ctx, cap_day(now), touch.principal, domain):
        return Decision(_due(state, ctx.window.next_day_open(now, active.timezone)),
                        effects=(Count("sequencer_touches_deferred_total",
                                       (("reason", "daily_cap"),)),))
    quota = spend_quota(ctx, active.campaign_id, now)
    if isinstance(quota, datetime):
        return Decision(_due(state, quota), effects=(Count("sequencer_touches_deferred_total",
                                                           (("reason", "campaign_rate"),)),))
    appended, record = projection.appended_own(step.append, key, at, touch.index)
    process_id = ctx.ids.process_id("sequence", now, active.aggregate_id)  # one for both events
    # Not validated: each value is a validated model's or checked (now by utc(), ids by the
    # IdFactory's contract).
    request = trusted(TouchRequested, {
        "event_id": ctx.ids.event_id("touch-requested", key), "occurred_at": now,
        "correlation_id": active.correlation_id, "process_id": process_id,
        "aggregate_id": active.aggregate_id, "sequence_id": active.sequence_id,
        "campaign_id": active.campaign_id, "company_sov_id": active.company_sov_id,
        "contact_key": state.contact_key, "touch_index": touch.index, "channel": touch.channel,
        "subject": touch.subject, "content_digest": touch.content_digest,
        "to_email": active.to_email, "due_at": now, "idempotency_key": key,
        "merge_fields": active.merge_fields})
    # When the next step is due: the cadence from this touch (the core's own rule, without a
    # second full decision); after the last touch at once, to record completion.
    next_due = now
    if touch.index < len(definition.touches):
        next_due = due_at(definition.rules, now, None)[0] or now
    # One copy where the touch and then the new due time used to bump the state in turn (so
    # the version still moves by one for each).
    changes = {} if active.next_due_at == next_due else {"next_due_at": next_due}
    after = replace(state, last_contact_at=now, version=state.version + 1 + len(changes),
                    active=replace(active, projection=appended, **changes))
    emits = (Emit("send_requests", state.contact_key, request),
             _appended(after, record, projection.version + 1, "active", ctx, now, process_id))
    effects: tuple[Count | ConsumeCap | ConsumeQuota, ...] = (
        Count("sequencer_touches_requested_total", (("channel", touch.channel),)), *quota)
    if touch.channel == "email":
        effects += (ConsumeCap(cap_day(now), touch.principal, domain),)
    return Decision(after, emits, effects)


def _campaign_hold(ctx: SequencerContext, campaign_id: str | None, status: str | None,
                   now: datetime) -> datetime | None:
    """When to look again if the campaign may not send now; None: it may."""
    recheck = now + timedelta(seconds=ctx.recheck_seconds)
    if status != "active":  # HELD, or not heard of: no approval is known for it
        return recheck
    window = ctx.campaign_window(campaign_id)
    if window is None:
        return None
    start, end = window
    if start is not None and now < start:
        return min(start, recheck)
    if end is not None and now >= end:
        return recheck  # the window closed: the campaign's audit or an operator ends it
    return None


def _capped(ctx: SequencerContext, day: str, mailbox: str, domain: str) -> bool:
    """Today's share of the sending mailbox's or the recipient domain's cap is spent."""
    m_key, d_key = cap_keys(ctx.partition, day, mailbox, domain)
    caps = ctx.caps
    return (ctx.caps_spent(m_key) >= caps.share(caps.per_mailbox, ctx.partitions, ctx.partition)
            or ctx.caps_spent(d_key) >= caps.share(caps.per_domain, ctx.partitions,
                                                    ctx.partition))


def _finish(
    state: PersonState, status: SequenceStatus, reason: str | None, key: str, now: datetime,
    ctx: SequencerContext, append: bool = True,
) -> PersonDecision:
    """End the active sequence; ``append=False`` when its end is already recorded in it."""
    active = state.active
    assert active is not None
    # Validated: it also refuses a naive `now` (on the paths that did not check it yet).
    finished = FinishedSequence(aggregate_id=active.aggregate_id, status=status, reason=reason,
                                ended_at=now)
    projection = active.projection
    appended, record = projection.appended_own(
        "sequence_stopped" if status == "stopped" else "sequence_completed", key,
        finished.ended_at, reason=reason)
    ended = replace(active, projection=appended, next_due_at=None)
    after = _bump(state, active=None, history=(*state.history, finished)[-HISTORY_KEPT:],
                  suppressed=reason if reason in SUPPRESSING else state.suppressed)
    if not append:
        return Decision(after)
    event = _appended(replace(after, active=ended), record, projection.version + 1, status, ctx,
                      now, ctx.ids.process_id("sequence", now, active.aggregate_id))
    return Decision(after, (event,),
                    (Count("sequencer_sequences_ended_total", (("status", status),)),))


def _suppressing_reason(record: SequenceEventRecord) -> str | None:
    if record.type == "bounced":
        return "bounced" if record.bounce_kind == "hard" else None
    return record.type if record.type in SUPPRESSING else None


def _escalate(state: PersonState, message: str, now: datetime, ctx: SequencerContext
              ) -> PersonDecision:
    # Held, not retried in a loop: an operator resolves an escalation.
    return Decision(_due(state, None), (escalation(state, message, now, ctx),))


def _appended(state: PersonState, append: SequenceEventRecord, version: int, status: Literal[
        "active", "stopped", "completed", "failed"], ctx: SequencerContext, now: datetime,
              process_id: str) -> Emit:
    active = state.active
    assert active is not None
    # Not validated, as TouchRequested in _step (its callers checked `now` is aware).
    return Emit("sequence_events", state.contact_key, trusted(SequenceEventAppended, {
        "event_id": ctx.ids.event_id("sequence-appended", active.aggregate_id, version),
        "occurred_at": now, "correlation_id": active.correlation_id, "process_id": process_id,
        "aggregate_id": active.aggregate_id, "version": version,
        "idempotency_key": append.idempotency_key, "type": append.type,
        "touch_index": append.touch_index, "sequence_id": active.sequence_id,
        "campaign_id": active.campaign_id, "company_sov_id": active.company_sov_id,
        "contact_key": state.contact_key, "status": status,
        "current_touch_index": active.projection.last_touch_index,
        "detail": {"reason": append.reason} if append.reason else {}}))


def _due(state: PersonState, when: datetime | None) -> PersonState:
    if state.active is None or state.active.next_due_at == when:
        return state
    return _bump(state, active=replace(state.active, next_due_at=when))


def _bump(state: PersonState, **changes: object) -> PersonState:
    return replace(state, **changes, version=state.version + 1)
