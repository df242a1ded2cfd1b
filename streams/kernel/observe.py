"""What the kernel samples for /metrics every few seconds: consumer lag and table sizes; and once
a minute what the worker's memory is held by (a soak's growth read by part, not guessed).

Lag is the group's view (what any Kafka lag exporter shows): each assigned partition's high
watermark minus the offset the group committed, for the hub's own topics only (a table's
changelog is read by seeking, never committed, so it has no group lag). A partition with no
commit yet lags from its earliest offset, where the group would start reading it. The gauges
are cleared and set again in one step without awaiting in between, so a scrape never sees
half a sample, and a partition that moved to another worker leaves no stale series here.
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from faust.stores import rocksdb

from streams.kernel import allocator, metrics, table_memory
from streams.kernel.hub import Hub

log = logging.getLogger(__name__)

SAMPLE_SECONDS = 5.0


def lag_of(assigned: Iterable[Any], highwater: Mapping[Any, int | None],
           committed: Mapping[Any, int | None], earliest: Mapping[Any, int | None]
           ) -> dict[tuple[str, int], int]:
    """(topic, partition) -> records not yet committed, for partitions with a known high
    watermark; never negative (a commit can be ahead of a high watermark read earlier)."""
    out: dict[tuple[str, int], int] = {}
    for tp in assigned:
        high = highwater.get(tp)
        if high is None:
            continue
        done = committed.get(tp)
        if done is None:
            done = earliest.get(tp) or 0
        out[(tp.topic, tp.partition)] = max(0, high - done)
    return out


async def sample_lag(hub: Hub) -> None:
    consumer: Any = hub.app.consumer  # Faust's Consumer; _committed_offset is not in ConsumerT
    ours = {spec.name for spec in hub.catalog}
    assigned = [tp for tp in consumer.assignment() if tp.topic in ours]
    if not assigned:
        lags: dict[tuple[str, int], int] = {}
    else:
        highwater = await consumer.highwaters(*assigned)
        # Faust's record of its own commits (updated on every commit and on assignment).
        committed = {tp: consumer._committed_offset.get(tp) for tp in assigned}
        unseen = [tp for tp, offset in committed.items() if offset is None]
        earliest = await consumer.earliest_offsets(*unseen) if unseen else {}
        lags = lag_of(assigned, highwater, committed, earliest)
    group = hub.app.conf.id
    metrics.CONSUMER_LAG.clear()
    for (topic, partition), lag in lags.items():
        metrics.CONSUMER_LAG.labels(group=group, topic=topic, partition=str(partition)).set(lag)


# Counting a disk store's keys reads every key from RocksDB (Faust's `len`; its estimate
# counts each overwrite until a compaction): every 5 s that grew with the tables to 4% of a
# worker's time in a 30-minute soak, so those tables are counted every twelfth sample.
DISK_COUNT_EVERY = 12
# glibc's mallinfo2 walks every free chunk under the arena's lock: 38 ms with 150,000 free
# chunks (~340 MB free) measured here, so memory is sampled once a minute too.
MEMORY_EVERY = 12


def sample_tables(hub: Hub, count_disk: bool = True) -> None:
    for name, table in hub.app.tables.items():
        if count_disk or not isinstance(table.data, rocksdb.Store):
            metrics.TABLE_KEYS.labels(table=name).set(len(table))


def memory_parts(app: Any, glibc: allocator.Glibc) -> dict[str, int]:
    """Bytes by holder (metrics.MEMORY_BYTES says what each is); a part this worker cannot
    measure (not glibc, no disk store) is left out."""
    parts = {**resident(), **glibc.held()}
    budget = table_memory.budget_usage(app)
    if budget is not None:
        parts["rocksdb_budget"] = budget
    readers = [db.property_int_value("rocksdb.estimate-table-readers-mem")
               for table in app.tables.values() if isinstance(table.data, rocksdb.Store)
               for db in list(table.data._dbs.values())]
    if readers:
        parts["rocksdb_table_readers"] = sum(r or 0 for r in readers)
    return parts


def resident(status: str = "/proc/self/status") -> dict[str, int]:
    """The resident set split as Linux counts it: anonymous pages (every heap: malloc's,
    Python's arenas, RocksDB's) and file pages (the interpreter and libraries mapped); {} where
    there is no /proc."""
    try:
        with open(status) as f:
            lines = f.read().splitlines()
    except OSError:
        return {}
    names = {"RssAnon:": "rss_anonymous", "RssFile:": "rss_file"}
    return {names[w[0]]: int(w[1]) * 1024 for w in map(str.split, lines) if w and w[0] in names}


def sample_memory(app: Any, glibc: allocator.Glibc) -> None:
    for part, held in memory_parts(app, glibc).items():
        metrics.MEMORY_BYTES.labels(part=part).set(held)
    metrics.PYTHON_BLOCKS.set(sys.getallocatedblocks())


def register(hub: Hub, seconds: float = SAMPLE_SECONDS) -> None:
    samples = itertools.count()
    glibc = allocator.Glibc()

    @hub.app.timer(seconds, name="metrics-sample")
    async def sample() -> None:
        n = next(samples)
        sample_tables(hub, count_disk=n % DISK_COUNT_EVERY == 0)
        if n % MEMORY_EVERY == 0:
            try:
                sample_memory(hub.app, glibc)
            except Exception as exc:  # a database closing under a rebalance: the next one tells
                log.debug("memory not sampled (%s)", type(exc).__name__)
        if hub.app.rebalancing:
            return  # the assignment is moving: keep the last samples until it settles
        try:
            await sample_lag(hub)
        except Exception as exc:  # a broker hiccup must not stop the timer; the next tick retries
            log.debug("consumer lag not sampled (%s)", type(exc).__name__)
