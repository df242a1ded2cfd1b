"""A typed table store: a Faust table of JSON values seen as a table of state models.

`get(key)` returns the state (the batch's own newer state first, then the table's, then the
default); a decision's state is written only when it changed, and only after the broker has
acknowledged the decision's emits (the loop in streams/kernel/loop.py sees to both).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from faust.streams import _current_event
from pydantic import BaseModel

from streams.contracts.decision import Decision
from streams.kernel.hub import Hub

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Decided(Generic[S]):
    """One decision about one key of one store (store None: a stateless outcome)."""

    store: TableStore[S] | None
    key: str
    before: S | None
    decision: Decision[S]


class TableStore(Generic[S]):
    def __init__(
        self,
        table: Any,
        load: Callable[[str, Any], S],
        dump: Callable[[S], Any],
        default: Callable[[str], S],
    ) -> None:
        self.table = table
        self._load, self._dump, self._default = load, dump, default
        self._pending: dict[str, S] = {}  # states decided in the current batch, not yet written
        # Told of every decided state once it is written or found unchanged (key, state,
        # partition): the sequencer's due schedule follows its table this way.
        self.on_write: Callable[[str, S, int], None] | None = None

    @classmethod
    def of(cls, hub: Hub, name: str, alias: str, model: type[Any],
           default: Callable[[str], S] | None = None) -> TableStore[S]:
        """A table of `model` states (pydantic), partitioned like the topic `alias`."""
        table = hub.app.Table(name, partitions=hub.catalog[alias].partitions)
        return cls(table, lambda _key, raw: model.model_validate(raw), _dump_json,
                   default or (lambda _key: model()))

    def get(self, key: str) -> S:
        if key in self._pending:
            return self._pending[key]
        raw = self.table.get(key)
        return self._load(key, raw) if raw else self._default(key)

    def decided(self, key: str, before: S, decision: Decision[S]) -> Decided[S]:
        return Decided(self, key, before, decision)

    # The kernel's side: what the loop calls around the broker's acknowledgement.
    def stage(self, key: str, state: S) -> None:
        self._pending[key] = state

    def write(self, event: Any, key: str, before: S | None, after: S) -> None:
        """Under `event`, so the changelog record goes to that event's partition as if written
        inside the stream iteration; nothing when the decision left the state as it was."""
        self._pending.pop(key, None)
        if after is not None and after is not before and after != before:
            with_event(event)
            self.table[key] = self._dump(after)
        if self.on_write is not None:
            self.on_write(key, after, event.message.partition)

    def forget_pending(self) -> None:
        self._pending.clear()


def with_event(event: Any) -> None:
    """Make `event` Faust's current event: table writes outside the stream iteration (after a
    batch's acknowledgement) would otherwise raise or land on the wrong partition."""
    _current_event.set(weakref.ref(event))


def _dump_json(state: Any) -> Any:
    return state.model_dump(mode="json") if isinstance(state, BaseModel) else state
