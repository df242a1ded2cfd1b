"""The one timer of the stages: scan what this worker owns, nudge it.

Faust timers run on every worker, so a nudge is sent only for the partitions this worker
actively owns (standby and revoked copies stay in Faust's memory store). A nudge is a command
to the stage's own topic; the stage's core ignores one that finds nothing due, so a nudge sent
twice (two ticks, a rebalance) is harmless. Nudges go through the interpreter: counted in
events_emitted_total and waited for under the one broker-failure policy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from streams.contracts.decision import Emit
from streams.kernel.hub import Hub
from streams.kernel.interpreter import send_emits, until_accepted
from streams.kernel.metrics import DUE_INDEX_KEYS
from streams.kernel.partitioning import partition_for
from streams.kernel.schedule import DueSchedule
from streams.kernel.store import TableStore

S = TypeVar("S")
log = logging.getLogger(__name__)

Scan = Callable[[datetime], AsyncIterator[Emit] | Iterable[Emit]]


def nudge_every(hub: Hub, name: str, seconds: float, scan: Scan) -> None:
    """Every `seconds`, send the nudges `scan(now)` yields (`name`: the timer's, for logs)."""

    async def nudge() -> None:
        found = scan(hub.clock.now())
        emits = [e async for e in found] if isinstance(found, AsyncIterator) else list(found)
        if emits:
            await until_accepted(hub, name, await send_emits(hub, emits), emits)

    hub.app.timer(seconds, name=name)(nudge)


class MarkedKeys:
    """The keys of a store whose state's `field` is `wanted` (by default: set), with their
    partitions: kept on every write (the store's on_write), read again from the table only
    when this worker's partitions change. A tick then costs the marked states, not the
    table: scanning and decoding every stored person each tick grew with the persons."""

    def __init__(self, field: str, wanted: Callable[[Any], bool] = bool) -> None:
        self.field, self.wanted = field, wanted
        self.keys: dict[str, int] = {}
        self.scanned_for: set[int] | None = None
        self.stale = True

    def update(self, key: str, state: Any, partition: int) -> None:
        if state is not None and self.wanted(getattr(state, self.field, None)):
            self.keys[key] = partition
        else:
            self.keys.pop(key, None)

    async def rescan(self, stored: Iterable[tuple[str, Any]], owned: set[int],
                     partitions: int) -> None:
        self.keys.clear()
        for n, (key, raw) in enumerate(stored):
            if n % 1000 == 999:
                await asyncio.sleep(0)  # a large table must not starve consumer heartbeats
            partition = partition_for(key, partitions)
            if partition in owned and self.wanted(raw.get(self.field)):
                self.keys[key] = partition
        self.scanned_for, self.stale = set(owned), False


def follow_marked(hub: Hub, store: TableStore[S], alias: str, field: str,
                  wanted: Callable[[Any], bool] = bool) -> Callable[[], Awaitable[list[str]]]:
    """A reader of the store's keys on owned partitions whose `field` is `wanted` (`alias`:
    the topic the store is partitioned like), kept as MarkedKeys; it finds none while the
    worker's partitions move, and reads the table again once they have settled."""
    spec, marked = hub.catalog[alias], MarkedKeys(field, wanted)
    told = store.on_write
    if told is None:
        store.on_write = marked.update
    else:  # another follower of the same table: both are told
        def both(key: str, state: S, partition: int) -> None:
            told(key, state, partition)
            marked.update(key, state, partition)
        store.on_write = both

    async def owned_marked() -> list[str]:
        if hub.app.rebalancing or hub.app.in_recovery:
            marked.stale = True  # partitions are moving: rescan once they have settled
            return []
        owned = owned_partitions(hub.app, spec.name)
        if marked.stale or owned != marked.scanned_for:
            await marked.rescan(list(store.table.items()), owned, spec.partitions)
        return [key for key, partition in marked.keys.items() if partition in owned]

    return owned_marked


def nudge_owned(hub: Hub, name: str, seconds: float, store: TableStore[S], alias: str,
                field: str, nudge: Callable[[str, S, datetime], Emit | None],
                wanted: Callable[[Any], bool] = bool) -> None:
    """Every `seconds`, the emits `nudge(key, state, now)` returns for the store's states on
    owned partitions whose `field` is `wanted` (by default: non-empty; `alias`: the topic the
    store is partitioned like)."""
    marked = follow_marked(hub, store, alias, field, wanted)

    async def scan(now: datetime) -> AsyncIterator[Emit]:
        for key in await marked():
            emit = nudge(key, store.get(key), now)
            if emit is not None:
                yield emit

    nudge_every(hub, name, seconds, scan)


def nudge_due(hub: Hub, name: str, seconds: float, schedule: DueSchedule, alias: str,
              stored: Callable[[], Iterable[tuple[str, Any]]],
              next_due: Callable[[str, Any], float | None],
              nudges: Callable[[dict[int, list[str]], datetime], Iterable[Emit]]) -> None:
    """Every `seconds`, the emits `nudges(due, now)` returns for the keys `schedule` finds due
    on this worker's owned partitions of `alias`. The schedule is rebuilt from `stored()` (with
    `next_due` of each stored value) once the worker's partitions have settled after a change,
    and read from it again when its horizon needs extending; nothing is nudged while they move.
    A nudge stays outstanding until its key's state is written (the store's on_write updates
    the schedule), or for a minute: under a backlog, re-nudging would only queue duplicate
    work. `stored()` must stay iterable across the reads' yields (hub.table_items)."""
    resend_after = max(60.0, seconds * 5)

    async def scan(now: datetime) -> AsyncIterator[Emit]:
        if hub.app.rebalancing or hub.app.in_recovery:
            schedule.stale = True  # partitions are moving: rescan once they have settled
            return
        owned = owned_partitions(hub.app, hub.catalog[alias].name)
        try:
            if schedule.stale or owned != schedule.scanned_for:
                await schedule.rescan(stored(), owned, next_due, now)
            elif schedule.needs_extending(now):
                await schedule.extend(stored(), owned, next_due, now)
        except Exception as exc:  # a rebalance under the read (a database closed, a dict grown)
            log.warning("%s: reading the table for the due index failed (%s); read again on "
                        "the next tick", name, type(exc).__name__)
            schedule.stale = True
            return
        DUE_INDEX_KEYS.labels(name).set(len(schedule))
        for emit in nudges(schedule.due_by_partition(now, owned, resend_after), now):
            yield emit

    nudge_every(hub, name, seconds, scan)


def owned_partitions(app: Any, topic: str) -> set[int]:
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}
