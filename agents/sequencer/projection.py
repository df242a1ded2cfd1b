"""The projection of one sequence aggregate (``{sequence_id}:{contact}``) and its fold.

Events come from three writers: the sequencer's own appends (touch_requested, sequence_stopped,
sequence_completed, each carrying the decision that produced it), the sender (touch_sent) and the
engagement stage (replied, opened, ...). The type set is open: a type this fold does not know is
kept and ignored, because the sequencer must never reinterpret engagement it does not understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple, TypeVar

from pydantic import AfterValidator, BaseModel, Field, PrivateAttr

from agents.sequencer.definition import STOP_EVENTS
from streams.contracts.models.base import AwareDatetime, Frozen

# Normalised to UTC so every timestamp serialises as ``...Z`` and compares without surprises.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]

M = TypeVar("M", bound=BaseModel)

# The sequencer builds a few models per decision from values that are already valid (fields of
# validated models, its own checked arguments), and pydantic's validation of them was most of a
# decision's cost. trusted() and replace() build the very instance validation would (the same
# __dict__, in field order, so dumps and reprs are unchanged) without validating. Validation
# stays where data enters: Kafka and harness inputs, definitions; the table holds only what
# encode() wrote. (Such an instance counts all its fields as set: nothing here reads that.)
_set = object.__setattr__
_FIELDS: dict[type[BaseModel], tuple[tuple[str, ...], set[str]]] = {}


def _fields(cls: type[BaseModel]) -> tuple[tuple[str, ...], set[str]]:
    if cls.__pydantic_post_init__ or cls.__private_attributes__:
        raise TypeError(f"{cls.__name__} needs a constructor of its own")
    _FIELDS[cls] = fields = (tuple(cls.model_fields), set(cls.model_fields))
    return fields


def trusted(cls: type[M], data: dict[str, Any]) -> M:
    """An instance of ``cls`` holding ``data``: every field, in field order (checked; a dict
    literal is the cheapest to build), each a value its validation would keep as it is."""
    names, fields_set = _FIELDS.get(cls) or _fields(cls)
    if tuple(data) != names:
        raise TypeError(f"{cls.__name__}: expected fields {names}, got {tuple(data)}")
    m = cls.__new__(cls)
    _set(m, "__dict__", data)
    _set(m, "__pydantic_fields_set__", fields_set.copy())
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


def replace(model: M, **changes: Any) -> M:
    """``model.model_copy(update=changes)`` (which does not validate either), minus its
    generic copying machinery."""
    m = model.__class__.__new__(model.__class__)
    data = model.__dict__.copy()
    data.update(changes)
    private = model.__pydantic_private__
    _set(m, "__dict__", data)
    _set(m, "__pydantic_fields_set__", model.__pydantic_fields_set__ | changes.keys())
    _set(m, "__pydantic_extra__", model.__pydantic_extra__)  # None: these forbid extras
    _set(m, "__pydantic_private__", None if private is None else private.copy())
    return m


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


class ProjectionFold(NamedTuple):
    # A NamedTuple (immutable, and cheaper to build than a frozen dataclass): one per append.
    last_touch_index: int = 0
    last_touch_at: datetime | None = None
    stopped_by: SequenceEventRecord | None = None
    stop_recorded: SequenceEventRecord | None = None
    completion_recorded: SequenceEventRecord | None = None
    applied_keys: Mapping[str, SequenceEventRecord] = {}  # never mutated: folds copy it


_EMPTY_FOLD = ProjectionFold()


def fold_events(
    events: tuple[SequenceEventRecord, ...], start: ProjectionFold = _EMPTY_FOLD
) -> ProjectionFold:
    """The fold of ``events``, continuing from ``start`` (the fold of the events before them):
    a left fold, so folding one more event onto a fold equals folding all of them again."""
    last_index, last_at = start.last_touch_index, start.last_touch_at
    stopped_by, stop_recorded = start.stopped_by, start.stop_recorded
    completion_recorded = start.completion_recorded
    applied = dict(start.applied_keys)
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

    @classmethod
    def trusted(cls, aggregate_id: str, version: int,
                events: tuple[SequenceEventRecord, ...] = (),
                fold: ProjectionFold | None = None) -> SequenceProjection:
        """Built from valid parts without validation (see ``trusted``); ``fold`` is the fold of
        ``events`` when the caller has it, else it is computed."""
        m = cls.__new__(cls)
        _set(m, "__dict__", {"aggregate_id": aggregate_id, "version": version, "events": events})
        _set(m, "__pydantic_fields_set__", {"aggregate_id", "version", "events"})
        _set(m, "__pydantic_extra__", None)
        _set(m, "__pydantic_private__", {"_fold": fold_events(events) if fold is None else fold})
        return m

    # Read straight from __pydantic_private__: `self._fold` goes through BaseModel.__getattr__,
    # which cost more than the reads themselves on every decision.
    @property
    def fold(self) -> ProjectionFold:
        return self.__pydantic_private__["_fold"]  # type: ignore[index]

    @property
    def last_touch_index(self) -> int:
        return self.fold.last_touch_index

    @property
    def last_touch_at(self) -> datetime | None:
        return self.fold.last_touch_at

    @property
    def stopped_by(self) -> SequenceEventRecord | None:
        """The first engagement event that ends the sequence, if any."""
        return self.fold.stopped_by

    @property
    def applied_keys(self) -> Mapping[str, SequenceEventRecord]:
        """Idempotency key -> the first event appended under it (with its decision, if ours)."""
        return self.fold.applied_keys

    def appended_own(self, type_: str, key: str, at: datetime, touch_index: int | None = None,
                     reason: str | None = None) -> tuple[SequenceProjection, SequenceEventRecord]:
        """The sequencer's own append (idempotent on its key), and the record it appends.
        Without the decision: the person table drops it (storage.py), and a replayed key is
        known by the record's type, so dumping one per touch bought nothing. Not validated: the
        caller passes ``at`` in UTC and a non-empty key."""
        record = trusted(SequenceEventRecord, {
            "type": type_, "touch_index": touch_index, "occurred_at": at, "idempotency_key": key,
            "bounce_kind": None, "reason": reason, "decision": None})
        # (the aggregate and the version are this projection's by construction)
        return (self if key in self.fold.applied_keys else self.appended(record)), record

    def appended(self, event: SequenceEventRecord) -> SequenceProjection:
        """This projection after one more append (the store bumps the version by exactly 1)."""
        if not isinstance(event, SequenceEventRecord):  # e.g. a dict: validated as it was
            return SequenceProjection(aggregate_id=self.aggregate_id, version=self.version + 1,
                                      events=(*self.events, event))
        # Valid parts (this projection, a record), and the fold extended by the one new event
        # rather than redone over the whole history.
        return SequenceProjection.trusted(self.aggregate_id, self.version + 1,
                                          (*self.events, event), fold_events((event,), self.fold))
