"""decide(): read projection -> decide -> the one event to append (SPEC §3 "Sequences", seed 002).

Pure: no broker, no database, no clock, no random ids. The caller supplies ``now`` and the
idempotency key, performs the compare-and-set append, and publishes the next-touch packet.

The sequencer never sends, never invents engagement events and never mints authority: a packet
only carries what the caller's definition and contact_ref already say, and the only events it
writes are its own decisions (touch_requested, sequence_stopped, sequence_completed).

Stop policy: every one of replied / unsubscribed / bounced (hard) / complained / meeting_booked
ends the sequence whether or not the definition's ``stop_on`` lists it. Unsubscribe and complaint
are consent withdrawals, a hard bounce only damages the sending domain's health, and SPEC §3
says replies and booked meetings end outreach; a definition that forgot one must not be able to
keep mailing a person, so ``stop_on`` can only document, never narrow, this floor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from pydantic import ValidationError

from agents.sequencer.decision_models import (
    NEXT_TOUCH_PACKET,
    AppendEvent,
    AppendType,
    ContactRef,
    DecisionKind,
    DecisionOutcome,
    Escalation,
    FailureReason,
    NextTouchPacket,
    SequencerDecision,
    StopState,
    WaitReason,
)
from agents.sequencer.definition import SequenceDefinition, SequenceRules, Touch
from agents.sequencer.exceptions import AppendRejected, InvalidSequenceInput
from agents.sequencer.projection import SequenceEventRecord, SequenceProjection

__all__ = [
    "NEXT_TOUCH_PACKET", "AppendEvent", "AppendType", "ContactRef", "DecisionKind",
    "DecisionOutcome", "Escalation", "FailureReason", "NextTouchPacket", "SequencerDecision",
    "Step", "StopState", "WaitReason", "apply_append", "decide", "due_at", "next_step", "utc",
]

_Fail = Callable[..., "SequencerDecision"]

def utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidSequenceInput(f"{name}: must be a timezone-aware datetime, got {value!r}")
    return value.astimezone(UTC)


def due_at(
    rules: SequenceRules, last_touch_at: datetime | None, last_contact_at: datetime | None
) -> tuple[datetime | None, WaitReason | None]:
    """Earliest time the next touch may go, and which rule sets it (None: no constraint).

    Cooling-off applies only when someone else contacted the person after this sequence's own
    last touch: between its own touches the sequence's cadence (``min_days_apart``) governs,
    else a fast BURNING cadence could never be faster than the cross-campaign cooling-off.
    """
    when: datetime | None = None
    reason: WaitReason | None = None
    if last_touch_at is not None:
        when, reason = last_touch_at + timedelta(days=rules.min_days_apart), "min_days_apart"
    if last_contact_at is not None and (last_touch_at is None or last_contact_at > last_touch_at):
        cooled = last_contact_at + timedelta(days=rules.cooling_off_days)
        if when is None or cooled > when:  # on a tie the cadence is named, as max() kept it
            when, reason = cooled, "cooling_off"
    return when, reason


def decide(
    definition: SequenceDefinition,
    projection: SequenceProjection | None,
    contact_ref: ContactRef,
    idempotency_key: str,
    expected_version: int,
    now: datetime,
    *,
    current_touch_index: int | None = None,
    last_contact_at: datetime | None = None,
    aggregate_id: str | None = None,
) -> SequencerDecision:
    """Decide the aggregate's next step. Checks run in this order, first match wins:

    projection missing -> key already appended (replay) -> version conflict -> touch-index
    mismatch -> already terminal -> stop event -> all touches done -> wait -> next touch.
    The replay check precedes the version check because a replay always arrives after its own
    append moved the version on.
    """
    now = utc(now, "now")
    if last_contact_at is not None:
        last_contact_at = utc(last_contact_at, "last_contact_at")
    if not idempotency_key:
        raise InvalidSequenceInput("idempotency_key: must be a non-empty string")
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise InvalidSequenceInput(
            f"expected_version: must be an integer, got {expected_version!r}"
        )

    def outcome(kind: DecisionKind, last_index: int = 0, **fields: object) -> DecisionOutcome:
        return DecisionOutcome.model_validate(
            {
                "kind": kind,
                "aggregate_id": aggregate_id,
                "idempotency_key": idempotency_key,
                "decided_at": now,
                "last_touch_index": last_index,
                **fields,
            }
        )

    def fail(reason: FailureReason, message: str, **versions: int | None) -> SequencerDecision:
        esc = Escalation(reason=reason, message=message, aggregate_id=aggregate_id, **versions)
        return SequencerDecision(outcome=outcome("failure", escalation=esc))

    if projection is None:
        return fail(
            "projection_missing",
            "no sequence state for the aggregate; an agent must "
            "enrol or repair it before any touch is decided",
        )
    if aggregate_id is None:
        aggregate_id = projection.aggregate_id
    elif aggregate_id != projection.aggregate_id:
        return fail(
            "aggregate_mismatch",
            f"asked about {aggregate_id!r} but the projection is of {projection.aggregate_id!r}",
        )

    earlier = projection.applied_keys.get(idempotency_key)
    if earlier is not None:
        return _replay(earlier, fail)

    if expected_version != projection.version:
        return fail(
            "version_conflict",
            f"expected_version {expected_version} but the projection "
            f"is at version {projection.version}; re-read and decide again",
            expected_version=expected_version,
            actual_version=projection.version,
        )

    last = projection.fold.last_touch_index
    if current_touch_index is not None and current_touch_index != last:
        # The caller and the store disagree about what was already sent: guessing either way
        # risks a duplicate or a skipped touch, so a person (agent) looks at it.
        return fail(
            "touch_index_mismatch",
            f"current_touch_index {current_touch_index} but the projection's last touch is {last}",
        )

    step = next_step(definition, projection, now, last_contact_at)
    fields: dict[str, object] = {}
    if step.stop_state is not None:
        fields["stop_state"] = step.stop_state
    if step.wait_until is not None:
        fields.update(wait_until=step.wait_until, wait_reason=step.wait_reason)
    if step.touch is not None:
        fields["next_touch"] = NextTouchPacket(
            aggregate_id=projection.aggregate_id, touch=step.touch, contact_ref=contact_ref,
            idempotency_key=idempotency_key, due_at=now)
    decided = outcome(step.kind, last, **fields)
    if step.append is None:
        return SequencerDecision(outcome=decided)
    event = AppendEvent(
        aggregate_id=projection.aggregate_id, type=step.append,
        expected_version=expected_version, version=expected_version + 1,
        idempotency_key=idempotency_key, occurred_at=now,
        touch_index=step.touch.index if step.touch is not None else None, reason=step.reason,
        decision=decided)
    return SequencerDecision(outcome=decided, append_event=event)


class Step(NamedTuple):
    """A decision before decide() dresses it in the models it returns. The person fold reads
    this directly: building those models on every touch was most of a decision's cost."""

    kind: DecisionKind
    last_touch_index: int
    append: AppendType | None = None  # the event to append, if any, and its reason
    reason: str | None = None
    touch: Touch | None = None
    wait_until: datetime | None = None
    wait_reason: WaitReason | None = None
    stop_state: StopState | None = None
    escalation: Escalation | None = None


def next_step(definition: SequenceDefinition, projection: SequenceProjection, now: datetime,
              last_contact_at: datetime | None) -> Step:
    """decide() once the request itself checked out (the checks after the touch index), with
    ``now`` and ``last_contact_at`` already in UTC."""
    fold = projection.fold
    last = fold.last_touch_index
    # Already terminal: report it, append nothing (a second stop/complete record is noise).
    recorded = [e for e in (fold.stop_recorded, fold.completion_recorded) if e is not None]
    terminal = min(recorded, key=lambda e: projection.events.index(e)) if recorded else None
    if terminal is not None:
        if terminal is fold.completion_recorded:
            return Step("complete", last)
        return Step("stop", last, stop_state=_recorded_stop(terminal, last))

    if fold.stopped_by is not None:
        state = StopState(reason=fold.stopped_by.type, stopped_at=fold.stopped_by.occurred_at,
                          last_touch_index=last)
        return Step("stop", last, "sequence_stopped", state.reason, stop_state=state)

    if last >= len(definition.touches):
        return Step("complete", last, "sequence_completed")

    when, why = due_at(definition.rules, fold.last_touch_at, last_contact_at)
    if when is not None and now < when:
        # In UTC, as the outcome's validation made it (`when` is in the zone of its inputs).
        return Step("wait", last, wait_until=when.astimezone(UTC), wait_reason=why)
    return Step("next_touch", last, "touch_requested", touch=definition.touch(last + 1))


def _recorded_stop(record: SequenceEventRecord, last_touch_index: int) -> StopState:
    """The stop state of an earlier stop record: ours carries it, an operator's only a reason."""
    recorded = (record.decision or {}).get("stop_state")
    if recorded is not None:
        return StopState.model_validate(recorded)
    return StopState(
        reason=record.reason or "stopped",
        stopped_at=record.occurred_at,
        last_touch_index=last_touch_index,
    )


def _replay(earlier: SequenceEventRecord, fail: _Fail) -> SequencerDecision:
    if earlier.decision is None:
        return fail(
            "idempotency_key_conflict",
            f"idempotency key was already used by a "
            f"{earlier.type!r} append this sequencer did not decide",
        )
    try:
        recorded = DecisionOutcome.model_validate(earlier.decision)
    except ValidationError as exc:
        return fail(
            "idempotency_key_conflict",
            f"the decision recorded under this key is unreadable: {exc.error_count()} error(s)",
        )
    return SequencerDecision(outcome=recorded, replayed=True)


def apply_append(projection: SequenceProjection, event: AppendEvent) -> SequenceProjection:
    """The store's side of an append: compare-and-set on the version, idempotent on the key."""
    if event.aggregate_id != projection.aggregate_id:
        raise AppendRejected(
            f"append for {event.aggregate_id!r} sent to {projection.aggregate_id!r}"
        )
    if event.idempotency_key in projection.applied_keys:
        return projection
    if event.expected_version != projection.version:
        raise AppendRejected(
            f"expected_version {event.expected_version} but {event.aggregate_id!r} "
            f"is at version {projection.version}"
        )
    return projection.appended(event.to_record())
