"""Read table changelog partitions in bulk, with one plain consumer, before Faust's recovery.

Faust rebuilds a table by replaying its changelog through the worker's stream path: every
record becomes an event, crosses the conductor, a queue and the recovery loop, each with a
task or two of its own. Measured on a sequencer worker holding 200,000 persons
(bench/recovery_bench.py, 2 cores): ~5,600 records/s, the main thread busy and the broker
idle; a million persons took 100 s from the changelog and 201 s into an empty disk store,
where a plain aiokafka consumer reads the same changelog at 148,000-180,000 records/s.

The stores of kernel/table_stores.py `start` a load from `on_rebalance`: each newly assigned
changelog partition is read from where the store has it to the end the partition had when the
load began, in offset order, and handed to the store chunk by chunk. The load runs beside the
rebalance, not in it: aiokafka sends no heartbeat while a rebalance callback runs, so a load
of more than the session timeout there would have the member expired. Faust pauses every
assigned partition until its recovery seeks and resumes them, and its recovery waits for the
loads (`settle`, from `Recovery._build_offsets`), then reads each store's persisted offset
again: it reads only what was written after (normally nothing) and keeps its own checks and
hand-over. A load that outlasts its budget (Faust gives that step `broker_request_timeout`)
is cancelled before Faust reads anything, and Faust's replay takes the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faust.types import TP

from streams.kernel.kafka_security import KafkaSecurity, client_kwargs

log = logging.getLogger(__name__)

POLL_RECORDS = 20_000
STALL_S = 10.0

# (partition, its records in offset order): the store applies a chunk and may record it.
Apply = Callable[[TP, list[ConsumerRecord]], None]


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    security: KafkaSecurity


# The broker each app's stores read from (Faust makes its stores from a URL, nothing else).
_BROKERS: weakref.WeakKeyDictionary[Any, Broker] = weakref.WeakKeyDictionary()


# The loads under way per app, for Faust's recovery to wait for; a load leaves it when done.
_PENDING: weakref.WeakKeyDictionary[Any, set[asyncio.Task[None]]] = weakref.WeakKeyDictionary()


def register(app: Any, bootstrap: str, security: KafkaSecurity) -> None:
    _BROKERS[app] = Broker(bootstrap, security)


def start(store: Any, starts: dict[TP, int | None], apply: Apply, generation_id: int,
          on_done: Callable[[dict[TP, int]], None] = lambda _done: None) -> asyncio.Task[None]:
    """Load in a task of its own from `starts` (taken during the rebalance, while the store
    still owns the partitions); `on_done` gets the partitions read to their end, each with the
    last offset it then had, only if no newer rebalance began meanwhile."""

    async def run() -> None:
        done = await load(store, starts, apply, generation_id)
        if store.app.consumer_generation_id == generation_id:
            on_done(done)

    task = asyncio.ensure_future(run())
    pending = _PENDING.setdefault(store.app, set())
    pending.add(task)
    task.add_done_callback(_finished(pending))
    return task


def _finished(pending: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    def finished(task: asyncio.Task[None]) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A failed load leaves its partitions unclaimed: Faust replays them.
            log.warning("a changelog load failed (%s): Faust replays its partitions",
                        type(task.exception()).__name__)

    return finished


async def settle(app: Any, budget_s: float) -> None:
    """Wait for the app's loads; past the budget, cancel them (their partitions are left to
    Faust's replay) and wait until they stopped applying records. A wait cut short (a newer
    rebalance restarts Faust's recovery) leaves the loads pending for the next one."""
    tasks = set(_PENDING.get(app, ()))
    if not tasks:
        return
    _finished_in_time, late = await asyncio.wait(tasks, timeout=max(0.0, budget_s))
    if late:
        log.warning("%d changelog loads cancelled after %.0f s: Faust replays the rest",
                    len(late), budget_s)
        await stop(late)


async def stop(tasks: set[asyncio.Task[None]]) -> None:
    """Cancel loads and wait until each has closed its consumer."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def wanted(store: Any, newly_assigned: set[TP]) -> list[TP]:
    """The store's active changelog partitions among those newly assigned; none under
    `exactly_once`, whose logs hold transaction markers and aborted records (Faust's replay
    reads them as committed reads would)."""
    if store.app.in_transaction or store.app not in _BROKERS:
        return []
    mine = store.table.changelog_topic.topics
    standbys = store.app.assignor.assigned_standbys()
    return sorted(tp for tp in newly_assigned if tp.topic in mine and tp not in standbys)


async def load(store: Any, starts: dict[TP, int | None], apply: Apply,
               generation_id: int) -> dict[TP, int]:
    """Read each partition from its start (None: its first record) to its end, handing the
    records to `apply`; returns the partitions read to their end, each with its last offset
    then (-1: it never held a record)."""
    tps = list(starts)
    started = time.perf_counter()
    conf, broker = store.app.conf, _BROKERS[store.app]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=conf.consumer_max_fetch_size,
        request_timeout_ms=int(conf.broker_request_timeout * 1000),
        **client_kwargs(broker.security))
    applied, done = 0, {}
    try:
        await consumer.start()
        parts = {TopicPartition(tp.topic, tp.partition): tp for tp in tps}
        consumer.assign(list(parts))
        begins = await consumer.beginning_offsets(list(parts))
        ends = await consumer.end_offsets(list(parts))
        todo = set()
        for p, tp in parts.items():
            start = starts[tp]
            first = begins[p] if start is None else max(start, begins[p])
            if first >= ends[p]:
                done[tp] = ends[p] - 1
                continue
            consumer.seek(p, first)
            todo.add(p)
        quiet_since = time.monotonic()
        while todo:
            if store.app.consumer_generation_id != generation_id:
                # A newer rebalance began: this assignment is stale, and the group waits for
                # this worker to join again (OUTREACH_REBALANCE_TIMEOUT_S).
                log.info("table %s: load stopped, a newer rebalance began", store.table.name)
                break
            batch = await consumer.getmany(*todo, timeout_ms=1000, max_records=POLL_RECORDS)
            if batch:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > STALL_S:
                # An end the broker reported but never delivers: Faust replays these.
                log.warning("table %s: %d changelog partitions left to Faust's replay "
                            "(no records for %.0f s)", store.table.name, len(todo), STALL_S)
                break
            if store.app.consumer_generation_id != generation_id:
                break  # revoked meanwhile, perhaps: nothing more is written for this assignment
            for p, records in batch.items():
                apply(parts[p], records)
                applied += len(records)
            for p in list(todo):
                if await consumer.position(p) >= ends[p]:
                    todo.discard(p)
                    done[parts[p]] = ends[p] - 1
            await asyncio.sleep(0)  # a chunk decoded: the worker's timers and web pages run
    finally:
        await consumer.stop()
    log.info("table %s: %d changelog records of %d partitions loaded in %.1f s",
             store.table.name, applied, len(tps), time.perf_counter() - started)
    return done
