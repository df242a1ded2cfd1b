"""The projection of one sequence aggregate (``{sequence_id}:{contact}``) and its fold.

Events come from three writers: the sequencer's own appends (touch_requested, sequence_stopped,
sequence_completed, each carrying the decision that produced it), the sender (touch_sent) and the
engagement stage (replied, opened, ...). The type set is open: a type this fold does not know is
kept and ignored, because the sequencer must never reinterpret engagement it does not understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, PrivateAttr

from agents.sequencer.definition import STOP_EVENTS
from streams.models.base import AwareDatetime, Frozen

# Normalised to UTC so every timestamp serialises as ``...Z`` and compares without surprises.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]

# A touch counts as taken once the sequencer has requested it, not only once it was sent:
# otherwise a decision made before the sender reports back would request the same touch again.
TOUCH_EVENT_TYPES: frozenset[str] = frozenset({"touch_requested", "touch_scheduled", "touch_sent"})
STOPPED_EVENT_TYPES: frozenset[str] = frozenset({"sequence_stopped", "stopped"})
COMPLETED_EVENT_TYPES: frozenset[str] = frozenset({"sequence_completed", "completed"})


class SequenceEventRecord(Frozen):
    type: str = Field(min_length=1)
    touch_index: int | None = Field(default=None, ge=1)
    occurred_at: UtcDatetime
    idempotency_key: str | None = Field(default=None, min_length=1)
    # A soft bounce (mailbox full, greylisting) is transient and must not end the sequence.
    bounce_kind: Literal["hard", "soft"] | None = None
    # Why an operator / earlier decision stopped the sequence (``sequence_stopped`` only).
    reason: str | None = None
    # The decision outcome a sequencer append recorded, so a replay can return it verbatim.
    decision: dict[str, Any] | None = None

    @property
    def is_stop_signal(self) -> bool:
        if self.type not in STOP_EVENTS:
            return False
        return not (self.type == "bounced" and self.bounce_kind == "soft")


@dataclass(frozen=True)
class ProjectionFold:
    last_touch_index: int = 0
    last_touch_at: datetime | None = None
    stopped_by: SequenceEventRecord | None = None
    stop_recorded: SequenceEventRecord | None = None
    completion_recorded: SequenceEventRecord | None = None
    applied_keys: Mapping[str, SequenceEventRecord] = field(default_factory=dict)


def fold_events(events: tuple[SequenceEventRecord, ...]) -> ProjectionFold:
    last_index = 0
    last_at: datetime | None = None
    stopped_by = stop_recorded = completion_recorded = None
    applied: dict[str, SequenceEventRecord] = {}
    for event in events:
        if event.type in TOUCH_EVENT_TYPES:
            last_index = max(last_index, event.touch_index or 0)
            last_at = event.occurred_at if last_at is None else max(last_at, event.occurred_at)
        if stopped_by is None and event.is_stop_signal:
            stopped_by = event
        if stop_recorded is None and event.type in STOPPED_EVENT_TYPES:
            stop_recorded = event
        if completion_recorded is None and event.type in COMPLETED_EVENT_TYPES:
            completion_recorded = event
        # First writer wins: the sender's touch_sent reuses the sequencer's key, and the
        # sequencer's append (which carries the decision) always precedes it.
        if event.idempotency_key is not None:
            applied.setdefault(event.idempotency_key, event)
    return ProjectionFold(
        last_index, last_at, stopped_by, stop_recorded, completion_recorded, applied
    )


class SequenceProjection(Frozen):
    """A read of the aggregate: its CAS version and (a bounded window of) its events."""

    aggregate_id: str = Field(min_length=1)
    version: int = Field(ge=0)
    events: tuple[SequenceEventRecord, ...] = ()

    _fold: ProjectionFold = PrivateAttr(default_factory=ProjectionFold)

    def model_post_init(self, context: Any, /) -> None:
        self._fold = fold_events(self.events)

    @property
    def fold(self) -> ProjectionFold:
        return self._fold

    @property
    def last_touch_index(self) -> int:
        return self._fold.last_touch_index

    @property
    def last_touch_at(self) -> datetime | None:
        return self._fold.last_touch_at

    @property
    def stopped_by(self) -> SequenceEventRecord | None:
        """The first engagement event that ends the sequence, if any."""
        return self._fold.stopped_by

    @property
    def applied_keys(self) -> Mapping[str, SequenceEventRecord]:
        """Idempotency key -> the first event appended under it (with its decision, if ours)."""
        return self._fold.applied_keys

    def appended(self, event: SequenceEventRecord) -> SequenceProjection:
        """This projection after one more append (the store bumps the version by exactly 1)."""
        return SequenceProjection(
            aggregate_id=self.aggregate_id, version=self.version + 1, events=(*self.events, event)
        )
