"""The memory table store, filled from its changelog in bulk when a partition is assigned.

Faust rebuilds a memory table by replaying its changelog through the worker's stream path:
every record becomes an event, crosses the conductor, a queue and the recovery loop, each
with a task or two of its own. Measured on a sequencer worker holding 200,000 persons
(bench/recovery_bench.py, 2 cores): ~5,600 records/s, the main thread busy and the broker
idle; a million persons took 100 s, where raw aiokafka reads ~500,000 records/s.

This store reads each newly assigned changelog partition itself before Faust's recovery
starts (`on_rebalance` runs first): one plain consumer, from the partition's first record to
the end it had when the load began, decoded with the table's own serializers, in offset order,
a tombstone deleting its key, exactly as Faust's replay applies them. It then reports the last
offset it applied as the partition's persisted offset, so Faust's recovery reads only what was
written after the load (normally nothing) and keeps its own checks and hand-over.

A partition is loaded only as a whole: its offset is recorded once every record up to the end
is applied, so a load cut short by a new rebalance leaves Faust to replay that partition from
its start. A revoked partition's offset is forgotten, so when it comes back it is loaded again
from its first record (another worker wrote it meanwhile); a partition kept through a rebalance
is replayed from this worker's last acknowledged write to it. Under `exactly_once` (transaction
markers and aborted records in the log) the store leaves recovery to Faust.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faust.stores import memory
from faust.types import TP

from streams.kernel.kafka_security import KafkaSecurity, client_kwargs

log = logging.getLogger(__name__)

URL = "outreach-memory://"
_POLL_RECORDS = 20_000
_STALL_S = 10.0


@dataclass(frozen=True)
class _Broker:
    bootstrap: str
    security: KafkaSecurity


# The broker each app's stores read from, set by `install` (Faust makes stores from a URL).
_BROKERS: weakref.WeakKeyDictionary[Any, _Broker] = weakref.WeakKeyDictionary()


class ChangelogLoadedStore(memory.Store):
    """Faust's memory store, filled from the changelog by one plain consumer per rebalance."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._loaded_to: dict[TP, int] = {}

    def persisted_offset(self, tp: TP) -> int | None:
        return self._loaded_to.get(tp)

    def set_persisted_offset(self, tp: TP, offset: int) -> None:
        # This worker's own changelog write, acknowledged (Faust writes the table first): a
        # partition kept through a rebalance is then replayed from here, not from its load.
        # Faust flushes its producer before a rebalance, so every write is acknowledged by then.
        # Only a partition that was loaded whole is followed: a late acknowledgement for a
        # revoked partition must not make it look loaded.
        known = self._loaded_to.get(tp)
        if known is not None and offset > known:
            self._loaded_to[tp] = offset

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP],
                           generation_id: int = 0) -> None:
        mine = self.table.changelog_topic.topics
        for tp in revoked:
            self._loaded_to.pop(tp, None)
        if self.app.in_transaction:
            return
        standbys = self.app.assignor.assigned_standbys()
        wanted = sorted(tp for tp in newly_assigned if tp.topic in mine and tp not in standbys)
        for tp in wanted:
            self._loaded_to.pop(tp, None)
        if wanted:
            await self._load(wanted, generation_id)

    def apply_records(self, records: Iterable[ConsumerRecord]) -> None:
        """Apply raw changelog records in offset order, as Faust's replay would."""
        loads_key, loads_value = self.app.serializers.loads_key, self.app.serializers.loads_value
        table: Any = self.table  # a Table: CollectionT does not declare its key/value hooks
        to_key, to_value = table._to_key, table._to_value
        key_type, value_type = self.key_type, self.value_type
        key_serializer, value_serializer = self.key_serializer, self.value_serializer
        data, partitions = self.data, self._key_partition
        for record in records:
            key = to_key(loads_key(key_type, record.key, serializer=key_serializer))
            if record.value is None:
                data.pop(key, None)
                partitions.pop(key, None)
                continue
            data[key] = to_value(loads_value(value_type, record.value,
                                             serializer=value_serializer))
            partitions[key] = record.partition

    async def _load(self, tps: list[TP], generation_id: int) -> None:
        started = time.perf_counter()
        conf, broker = self.app.conf, _BROKERS[self.app]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            enable_auto_commit=False,
            max_partition_fetch_bytes=conf.consumer_max_fetch_size,
            request_timeout_ms=int(conf.broker_request_timeout * 1000),
            **client_kwargs(broker.security))
        await consumer.start()
        applied = 0
        try:
            parts = {TopicPartition(tp.topic, tp.partition): tp for tp in tps}
            consumer.assign(list(parts))
            begins = await consumer.beginning_offsets(list(parts))
            ends = await consumer.end_offsets(list(parts))
            todo = {p for p in parts if ends[p] > begins[p]}
            for p in todo:
                consumer.seek(p, begins[p])
            last: dict[TopicPartition, int] = {}
            quiet_since = time.monotonic()
            while todo:
                if self.app.consumer_generation_id != generation_id:
                    # A newer rebalance began: this assignment is already stale, and the
                    # group waits for this worker to join again (OUTREACH_REBALANCE_TIMEOUT_S).
                    log.info("table %s: load stopped, a newer rebalance began", self.table.name)
                    break
                batch = await consumer.getmany(*todo, timeout_ms=1000,
                                               max_records=_POLL_RECORDS)
                if batch:
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since > _STALL_S:
                    # An end the broker reported but never delivers: Faust replays these.
                    log.warning("table %s: %d changelog partitions left to Faust's replay "
                                "(no records for %.0f s)", self.table.name, len(todo), _STALL_S)
                    break
                for p, records in batch.items():
                    self.apply_records(records)
                    applied += len(records)
                    last[p] = records[-1].offset
                for p in list(todo):
                    if await consumer.position(p) >= ends[p]:
                        todo.discard(p)
                        if p in last:
                            self._loaded_to[parts[p]] = last[p]
        finally:
            await consumer.stop()
        log.info("table %s: %d changelog records of %d partitions loaded in %.1f s",
                 self.table.name, applied, len(tps), time.perf_counter() - started)


def install(app: Any, bootstrap: str, security: KafkaSecurity) -> None:
    """Make `outreach-memory://` name this store for Faust's tables, reading from `bootstrap`
    with the worker's Kafka security settings for `app`'s tables."""
    from faust import stores

    stores.STORES.aliases.setdefault("outreach-memory", f"{__name__}:ChangelogLoadedStore")
    _BROKERS[app] = _Broker(bootstrap, security)


def loaded_offsets(store: Any) -> dict[TP, int]:
    """The partitions a store loaded and the last offset of each (tests, operators)."""
    return dict(getattr(store, "_loaded_to", {}))
