"""A typed table store: a Faust table of JSON values seen as a table of state models.

`get(key)` returns the state (the batch's own newer state first, then the table's, then the
default); a decision's state is written only when it changed, and only after the broker has
acknowledged the decision's emits (the loop in streams/kernel/loop.py sees to both).

A store may keep the states it last decoded or wrote (`keep`, least recently used first out):
decoding a stored value was a large share of a decision's cost, and a key decided once is
soon decided again (a touch is followed by its send report, a nudge by the next). A kept state
is used only while the table still holds the very value it was read from or written as, so a
changelog recovery or any other write simply decodes again.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
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
        keep: int = 0,
    ) -> None:
        self.table = table
        self._load, self._dump, self._default = load, dump, default
        self._pending: dict[str, S] = {}  # states decided in the current batch, not yet written
        self._keep = keep
        self._kept: OrderedDict[str, tuple[Any, S]] = OrderedDict()  # key -> (stored, state)
        # Told of every decided state once it is written or found unchanged (key, state,
        # partition): the sequencer's due schedule follows its table this way.
        self.on_write: Callable[[str, S, int], None] | None = None

    @classmethod
    def of(cls, hub: Hub, name: str, alias: str, model: type[Any],
           default: Callable[[str], S] | None = None) -> TableStore[S]:
        """A table of `model` states (pydantic), partitioned like the topic `alias`."""
        table = hub.table(name, hub.catalog[alias].partitions)
        return cls(table, lambda _key, raw: model.model_validate(raw), _dump_json,
                   default or (lambda _key: model()))

    def get(self, key: str) -> S:
        if key in self._pending:
            return self._pending[key]
        raw = self.table.get(key)
        if not raw:
            return self._default(key)
        kept = self._kept.get(key)
        if kept is not None and (kept[0] is raw or kept[0] == raw):
            self._kept.move_to_end(key)
            return kept[1]
        state = self._load(key, raw)
        self._remember(key, raw, state)
        return state

    def _remember(self, key: str, raw: Any, state: S) -> None:
        if self._keep:
            self._kept[key] = (raw, state)
            self._kept.move_to_end(key)
            if len(self._kept) > self._keep:
                self._kept.popitem(last=False)

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
            self.table[key] = raw = self._dump(after)
            self._remember(key, raw, after)
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
