"""A typed table store: a Faust table of JSON values seen as a table of state models.

`get(key)` returns the state (the batch's own newer state first, then the table's, then the
default); a decision's state is written only when it changed, and only after the broker has
acknowledged the decision's emits (the loop in streams/kernel/loop.py sees to both).

A store may keep the states it last decoded or wrote (`keep`, least recently used first out):
decoding a stored value was a large share of a decision's cost, and a key decided once is
soon decided again (a touch is followed by its send report, a nudge by the next). A kept state
is used only while the table still holds the very value it was read from or written as, so a
changelog recovery or any other write simply decodes again.

What is kept is bounded by count and, with `keep_seconds`, by age: a state not used for that
long leaves. A person's send report follows its touch within seconds and its next touch comes
days later, so the age bound holds the persons being worked on and lets the cache settle within
a minute at any rate below the count bound, where a count alone fills over many minutes of a
steady load and reads as a worker's memory growing.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from streams.contracts.decision import Decision, Effect, Emit
from streams.kernel import changelog
from streams.kernel.changelog import Recorded
from streams.kernel.hub import Hub

S = TypeVar("S")
T = TypeVar("T")


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
        keep_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self._load, self._dump, self._default = load, dump, default
        self._pending: dict[str, S] = {}  # states decided in the current batch, not yet written
        self._keep, self._keep_seconds, self._clock = keep, keep_seconds, clock
        # key -> (stored, state, last used), least recently used first
        self._kept: OrderedDict[str, tuple[Any, S, float]] = OrderedDict()
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
            self._remember(key, kept[0], kept[1])
            return kept[1]
        state = self._load(key, raw)
        self._remember(key, raw, state)
        return state

    def _remember(self, key: str, raw: Any, state: S) -> None:
        if not self._keep:
            return
        now, kept = self._clock(), self._kept
        kept[key] = (raw, state, now)
        kept.move_to_end(key)
        if len(kept) > self._keep:
            kept.popitem(last=False)
        if self._keep_seconds:
            cutoff = now - self._keep_seconds
            while kept and next(iter(kept.values()))[2] < cutoff:
                kept.popitem(last=False)

    @property
    def kept(self) -> int:
        """Decoded states kept now."""
        return len(self._kept)

    def decided(self, key: str, before: S, decision: Decision[S]) -> Decided[S]:
        return Decided(self, key, before, decision)

    def folded(self, key: str, items: Iterable[T], decide: Callable[[S, T], Decision[S]]
               ) -> Decided[S]:
        """One key's inputs out of one record (a webhook body's events of one person), in
        order, each decided on the state the one before left: one outcome, every emit."""
        before = state = self.get(key)
        emits: list[Emit] = []
        effects: list[Effect] = []
        for item in items:
            decision = decide(state, item)
            state = decision.state
            emits.extend(decision.emits)
            effects.extend(decision.effects)
        return Decided(self, key, before, Decision(state, tuple(emits), tuple(effects)))

    def folded_by_key(self, items: Iterable[T], key_of: Callable[[T], str],
                      decide: Callable[[S, T], Decision[S]]) -> list[Decided[S]]:
        """A record's inputs of several keys: each key's folded in order (`folded`)."""
        by_key: dict[str, list[T]] = {}
        for item in items:
            by_key.setdefault(key_of(item), []).append(item)
        return [self.folded(key, keyed, decide) for key, keyed in by_key.items()]

    # The kernel's side: what the loop calls around the broker's acknowledgement.
    def stage(self, key: str, state: S) -> None:
        self._pending[key] = state

    def write(self, event: Any, key: str, before: S | None, after: S) -> Recorded | None:
        """Under `event`, so the changelog record goes to that event's partition as if written
        inside the stream iteration; nothing when the decision left the state as it was.
        Returns the write with its changelog record's future (None: nothing written)."""
        self._pending.pop(key, None)
        recorded = None
        if after is not None and after is not before and after != before:
            raw = self._dump(after)
            recorded = changelog.write(event, self.table, key, raw)
            self._remember(key, raw, after)
        if self.on_write is not None:
            self.on_write(key, after, event.message.partition)
        return recorded

    def forget_pending(self) -> None:
        self._pending.clear()


def _dump_json(state: Any) -> Any:
    return state.model_dump(mode="json") if isinstance(state, BaseModel) else state
