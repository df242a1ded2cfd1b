"""One sequence's next step: read projection -> next touch, wait, stop or complete (SPEC §3
"Sequences", seed 002). The person core (`person.py`) calls it for the person's active sequence
and turns the step into appends and emits.

Pure: no broker, no database, no clock, no random ids; the caller supplies ``now``.

Stop policy: every one of replied / unsubscribed / bounced (hard) / complained / meeting_booked
ends the sequence whether or not the definition's ``stop_on`` lists it. Unsubscribe and complaint
are consent withdrawals, a hard bounce only damages the sending domain's health, and SPEC §3
says replies and booked meetings end outreach; a definition that forgot one must not be able to
keep mailing a person, so ``stop_on`` can only document, never narrow, this floor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from agents.sequencer.definition import SequenceDefinition, SequenceRules, Touch
from agents.sequencer.exceptions import InvalidSequenceInput
from agents.sequencer.projection import SequenceEventRecord, SequenceProjection, UtcDatetime
from streams.contracts.models.base import Frozen

__all__ = ["AppendType", "DecisionKind", "Step", "StopState", "WaitReason", "due_at",
           "next_step", "recorded_stop", "utc"]

# "failure": the step's key is taken (the person core escalates it).
DecisionKind = Literal["next_touch", "wait", "stop", "complete", "failure"]
WaitReason = Literal["min_days_apart", "cooling_off"]
AppendType = Literal["touch_requested", "sequence_stopped", "sequence_completed"]


class StopState(Frozen):
    """Why a sequence stopped, when, and after which touch (seed 002's stop state)."""

    reason: str
    stopped_at: UtcDatetime
    last_touch_index: int


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


class Step(NamedTuple):
    """A sequence's next step, as a tuple: building models for it on every touch was most of a
    decision's cost."""

    kind: DecisionKind
    last_touch_index: int
    append: AppendType | None = None  # the event to append, if any, and its reason
    reason: str | None = None
    touch: Touch | None = None
    wait_until: datetime | None = None
    wait_reason: WaitReason | None = None
    stop_state: StopState | None = None


def next_step(definition: SequenceDefinition, projection: SequenceProjection, now: datetime,
              last_contact_at: datetime | None) -> Step:
    """First match wins: already terminal -> stop event -> all touches done -> wait -> next
    touch. ``now`` and ``last_contact_at`` are in UTC."""
    fold = projection.fold
    last = fold.last_touch_index
    # Already terminal: report it, append nothing (a second stop/complete record is noise).
    recorded = [e for e in (fold.stop_recorded, fold.completion_recorded) if e is not None]
    terminal = min(recorded, key=lambda e: projection.events.index(e)) if recorded else None
    if terminal is not None:
        if terminal is fold.completion_recorded:
            return Step("complete", last)
        return Step("stop", last, stop_state=recorded_stop(terminal, last))

    if fold.stopped_by is not None:
        state = StopState(reason=fold.stopped_by.type, stopped_at=fold.stopped_by.occurred_at,
                          last_touch_index=last)
        return Step("stop", last, "sequence_stopped", state.reason, stop_state=state)

    if last >= len(definition.touches):
        return Step("complete", last, "sequence_completed")

    when, why = due_at(definition.rules, fold.last_touch_at, last_contact_at)
    if when is not None and now < when:
        # In UTC (`when` is in the zone of its inputs), as the state and the answers keep times.
        return Step("wait", last, wait_until=when.astimezone(UTC), wait_reason=why)
    return Step("next_touch", last, "touch_requested", touch=definition.touch(last + 1))


def recorded_stop(record: SequenceEventRecord, last_touch_index: int) -> StopState:
    """The stop state of an earlier stop record: ours carries it, an operator's only a reason."""
    recorded = (record.decision or {}).get("stop_state")
    if recorded is not None:
        return StopState.model_validate(recorded)
    return StopState(
        reason=record.reason or "stopped",
        stopped_at=record.occurred_at,
        last_touch_index=last_touch_index,
    )
