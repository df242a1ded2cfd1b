"""Which persons are due: an in-memory index of next-due times over the sequencer's table.

Scanning and decoding a million stored states every tick would cost seconds, so the agent keeps
this index current on every write, and it is rebuilt from the table only when this worker's
partitions change (after a rebalance, recovered states are in the table but not yet here).

A tick costs what is due, not what is stored: due times sit in a heap with lazy deletion (an
entry whose time no longer matches the person's current due time is skipped when it surfaces),
rebuilt when stale entries outnumber live ones.

With a horizon, only persons due before `kept_until` (about the horizon ahead) are held: a
touch is days after the last, so a million stored persons would otherwise hold ~270 bytes each
here (~270 MB) for nudges that are days away. The table is read again once half the horizon has
passed (`extend`), adding the persons whose due time has come within it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from streams.kernel.partitioning import partition_for

log = logging.getLogger(__name__)
T = TypeVar("T")


class DueSchedule:
    def __init__(self, partitions: int, horizon_seconds: float = math.inf) -> None:
        self.partitions = partitions
        self.horizon = horizon_seconds
        self.kept_until = math.inf  # epoch: later due times are left in the table until then
        self._due: dict[str, tuple[float, int]] = {}  # key -> (due epoch, partition)
        self._heap: list[tuple[float, str]] = []
        self._nudged: dict[str, float] = {}  # key -> monotonic time of its outstanding nudge
        # Keys written while the table is being read: the read may hold an older state of them.
        self._written_while_reading: set[str] | None = None
        self.scanned_for: set[int] | None = None
        self.stale = True

    def update(self, key: str, due: datetime | None, partition: int | None = None) -> None:
        """The person's state was written: its nudge (if any) is answered; `due` is next."""
        answered = self._nudged.pop(key, None) is not None
        if self._written_while_reading is not None:
            self._written_while_reading.add(key)
        at = None if due is None else due.timestamp()
        if at is None or at > self.kept_until:
            self._due.pop(key, None)  # its heap entries are skipped when they surface
            return
        if partition is None:
            partition = partition_for(key, self.partitions)
        current = self._due.get(key)
        self._due[key] = (at, partition)
        # A nudged person's entry left the heap when it was nudged: an answer that leaves the
        # due time unchanged (a no-op event, a decision that did not touch) must re-arm it.
        if answered or current is None or current[0] != at:
            heapq.heappush(self._heap, (at, key))
            if len(self._heap) > 2 * len(self._due) + 1024:
                self._rebuild()

    async def rescan(self, stored: Iterable[tuple[str, Any]], owned: set[int],
                     next_due: Callable[[str, Any], float | None], now: datetime) -> None:
        """Rebuild from the table, yielding to the event loop every thousand states: a million
        states take seconds, and heartbeats must keep flowing meanwhile."""
        # Emptied, not rebuilt after: the read and any write meanwhile push what they hold, so
        # the old entries would only be skipped later (and held twice while the read runs).
        self._due.clear()
        self._nudged.clear()
        self._heap = []
        self.kept_until = now.timestamp() + self.horizon
        await self._read(stored, owned, next_due)
        self.scanned_for, self.stale = set(owned), False

    def needs_extending(self, now: datetime) -> bool:
        return math.isfinite(self.horizon) and now.timestamp() + self.horizon / 2 >= self.kept_until

    async def extend(self, stored: Iterable[tuple[str, Any]], owned: set[int],
                     next_due: Callable[[str, Any], float | None], now: datetime) -> None:
        """Move the horizon on: add the stored persons now due within it. Those held already
        are current (every write updates them), so only the others are decoded."""
        self.kept_until = now.timestamp() + self.horizon
        await self._read(stored, owned, next_due)

    async def _read(self, stored: Iterable[tuple[str, Any]], owned: set[int],
                    next_due: Callable[[str, Any], float | None]) -> None:
        # kept_until is set before the read: a write meanwhile is held by update() itself, and
        # the read leaves its key alone (what it read of that key may be older).
        written = self._written_while_reading = set()
        try:
            for n, (key, raw) in enumerate(stored):
                if n % 1000 == 999:
                    await asyncio.sleep(0)
                if key in written or key in self._due:
                    continue
                partition = partition_for(key, self.partitions)
                if partition in owned:
                    at = next_due(key, raw)
                    if at is not None and at <= self.kept_until:
                        self._due[key] = (at, partition)
                        heapq.heappush(self._heap, (at, key))
        finally:
            self._written_while_reading = None

    def due(self, now: datetime, owned: set[int], resend_after: float
            ) -> Iterator[tuple[str, int]]:
        """(key, partition) due now on owned partitions. A person nudged less than
        resend_after ago is not nudged again (its nudge is queued or being decided)."""
        cutoff, wall = now.timestamp(), time.monotonic()
        unanswered = [k for k, at in self._nudged.items() if wall - at >= resend_after]
        for key in unanswered:
            del self._nudged[key]
            if key in self._due:
                heapq.heappush(self._heap, (self._due[key][0], key))
        heap = self._heap
        while heap and heap[0][0] <= cutoff:
            at, key = heapq.heappop(heap)
            current = self._due.get(key)
            if current is None or current[0] != at or key in self._nudged:
                continue  # superseded, or already nudged through a duplicate entry
            if current[1] not in owned:
                continue  # not ours now; a rescan rebuilds the heap when ownership changes
            self._nudged[key] = wall
            yield key, current[1]

    def due_by_partition(self, now: datetime, owned: set[int], resend_after: float
                         ) -> dict[int, list[str]]:
        by_partition: dict[int, list[str]] = {}
        for key, partition in self.due(now, owned, resend_after):
            by_partition.setdefault(partition, []).append(key)
        return by_partition

    def each(self, keys: Sequence[str], decide: Callable[[str], T]) -> list[T]:
        """`decide(key)` for every key of one nudge. A key whose decision fails is logged and
        left out of the index until its next write: one broken person must not hold the
        others, nor be nudged again every tick."""
        decided = []
        for key in keys:
            try:
                decided.append(decide(key))
            except Exception as exc:
                log.error("failed on one key of a nudge (%s); held", type(exc).__name__)
                self.update(key, None)
        return decided

    def _rebuild(self) -> None:
        self._heap = [(at, key) for key, (at, _) in self._due.items()]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._due)
