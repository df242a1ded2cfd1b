"""Which persons are due: an in-memory index of next-due times over the sequencer's table.

Scanning and decoding a million stored states every tick would cost seconds, so the agent keeps
this index current on every write, and it is rebuilt from the table only when this worker's
partitions change (after a rebalance, recovered states are in the table but not yet here).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from agents.sequencer.storage import decode
from streams.partitioning import partition_for


class DueSchedule:
    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._due: dict[str, tuple[float, int]] = {}  # key -> (due epoch, partition)
        self._nudged: dict[str, float] = {}
        self.scanned_for: set[int] | None = None
        self.stale = True

    def update(self, key: str, due: datetime | None) -> None:
        self._nudged.pop(key, None)
        if due is None:
            self._due.pop(key, None)
        else:
            self._due[key] = (due.timestamp(), partition_for(key, self.partitions))

    async def rescan(self, stored: Iterable[tuple[str, str]], owned: set[int]) -> None:
        """Rebuild from the table, yielding to the event loop every thousand states: a million
        states take seconds, and heartbeats must keep flowing meanwhile."""
        self._due.clear()
        for n, (key, raw) in enumerate(stored):
            if n % 1000 == 999:
                await asyncio.sleep(0)
            partition = partition_for(key, self.partitions)
            if partition in owned:
                due = decode(key, raw).next_due_at
                if due is not None:
                    self._due[key] = (due.timestamp(), partition)
        self.scanned_for, self.stale = set(owned), False

    def due(self, now: datetime, owned: set[int], resend_after: float
            ) -> Iterator[tuple[str, int]]:
        """(key, partition) due now on owned partitions, skipping those nudged less than
        resend_after ago."""
        cutoff, wall = now.timestamp(), time.monotonic()
        for key, (at, partition) in list(self._due.items()):
            if at > cutoff or partition not in owned:
                continue
            if wall - self._nudged.get(key, -1e18) < resend_after:
                continue  # a nudge is in flight
            self._nudged[key] = wall
            yield key, partition

    def __len__(self) -> int:
        return len(self._due)
