"""Faust's table stores, each filled from its changelog in bulk when a partition is assigned
(kernel/changelog_load.py says why and how): `outreach-memory://` and `outreach-rocksdb://`.

Memory: a partition counts as loaded only once it was read to its end, so a load cut short
leaves Faust to replay that partition from its start. A revoked partition is forgotten, so when
it comes back it is loaded again from its first record (another worker wrote it meanwhile); a
partition kept through a rebalance is replayed from this worker's last acknowledged write.

Disk (RocksDB): the database keeps the offset it holds, as Faust's store does; a newly assigned
partition is read from there, each chunk written in one batch and its offset after it, so a
load cut short resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import ConsumerRecord
from faust.stores import memory, rocksdb
from faust.tables.recovery import Recovery
from faust.types import TP

from streams.kernel import changelog_load, table_memory
from streams.kernel.kafka_security import KafkaSecurity

MEMORY_URL = "outreach-memory://"
ROCKSDB_URL = "outreach-rocksdb://"


class ChangelogLoadedMemoryStore(memory.Store):
    """Faust's memory store, filled from the changelog by one plain consumer per rebalance."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._loaded_to: dict[TP, int] = {}
        self._loads: set[asyncio.Task[None]] = set()

    async def stop(self) -> None:
        await _stop_loads(self._loads)
        await super().stop()

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
        for tp in revoked:
            self._loaded_to.pop(tp, None)
        tps = changelog_load.wanted(self, newly_assigned)
        for tp in tps:
            self._loaded_to.pop(tp, None)
        if not tps:
            return

        def claim(done: dict[TP, int]) -> None:
            self._loaded_to.update(done)  # an empty partition too: its writes are followed

        _track(self._loads, changelog_load.start(
            self, dict.fromkeys(tps), lambda _tp, records: self.apply_records(records),
            generation_id, claim))

    def apply_records(self, records: list[ConsumerRecord]) -> None:
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


class ChangelogLoadedRocksStore(rocksdb.Store):
    """Faust's RocksDB store (on rocksdict), caught up with the changelog in bulk, its memory
    within the worker's budget (kernel/table_memory.py)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rocksdb_options = table_memory.options_for(self.app, self.rocksdb_options,
                                                        dict(self.options or {}))

    def __post_init__(self) -> None:
        super().__post_init__()
        self._loads: set[asyncio.Task[None]] = set()

    async def on_rebalance(self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP],
                           generation_id: int = 0) -> None:
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)
        tps = changelog_load.wanted(self, newly_assigned) if self.use_rocksdict else []
        if not tps:
            return
        # Read now, while this worker owns the partitions: a database opened later for a
        # partition revoked meanwhile would stay open (and locked) here.
        held = {tp: self.persisted_offset(tp) for tp in tps}
        starts = {tp: None if offset is None else offset + 1 for tp, offset in held.items()}
        _track(self._loads, changelog_load.start(self, starts, self.apply_records,
                                                 generation_id))

    async def stop(self) -> None:
        await _stop_loads(self._loads)
        await super().stop()

    def apply_records(self, tp: TP, records: list[ConsumerRecord]) -> None:
        """One chunk of a partition's raw records, in one write, then its offset: the bytes
        as they are in the log, as Faust's own replay writes them."""
        batch = self._rocksdict_write_batch()
        for record in records:
            if record.value is None:
                batch.delete(record.key)
            else:
                batch.put(record.key, record.value)
        self._db_for_partition(tp.partition).write(batch)
        self.set_persisted_offset(tp, records[-1].offset)

    @staticmethod
    def _rocksdict_write_batch() -> Any:
        import rocksdict

        return rocksdict.WriteBatch(raw_mode=True)


def _track(loads: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
    """A store's loads under way (a finished one leaves: a worker rebalances for months)."""
    loads.add(task)
    task.add_done_callback(loads.discard)


async def _stop_loads(loads: set[asyncio.Task[None]]) -> None:
    """A store stopping: its loads stop first (no write after the store closed)."""
    await changelog_load.stop({task for task in loads if not task.done()})
    loads.clear()


_build_offsets = Recovery._build_offsets
# Faust gives `_build_offsets` `broker_request_timeout` (90 s by default) and ends its recovery
# for good when that runs out; the loads may take this share of it.
LOAD_SHARE = 0.7


async def _build_offsets_after_loads(self: Recovery, consumer: Any, tps: set[TP],
                                     destination: Any, title: str) -> None:
    """Faust's recovery deciding where to read each changelog from: its own offsets, then,
    once the loads finished (within the step's time limit), what each store holds now."""
    started = time.monotonic()
    await _build_offsets(self, consumer, tps, destination, title)
    budget = LOAD_SHARE * self.app.conf.broker_request_timeout - (time.monotonic() - started)
    await changelog_load.settle(self.app, budget)
    for tp in tps:
        table = self.tp_to_table.get(tp)
        held = None if table is None else table.persisted_offset(tp)
        if held is not None and (destination[tp] is None or held > destination[tp]):
            destination[tp] = held


def install(app: Any, bootstrap: str, security: KafkaSecurity) -> None:
    """Name these stores for Faust's tables (`outreach-memory://`, `outreach-rocksdb://`),
    reading `app`'s changelogs from `bootstrap` with the worker's Kafka security settings,
    and have Faust's recovery wait for their loads."""
    from faust import stores

    stores.STORES.aliases.setdefault(
        "outreach-memory", f"{__name__}:ChangelogLoadedMemoryStore")
    stores.STORES.aliases.setdefault("outreach-rocksdb", f"{__name__}:ChangelogLoadedRocksStore")
    changelog_load.register(app, bootstrap, security)
    Recovery._build_offsets = _build_offsets_after_loads  # type: ignore[method-assign]


def loaded_offsets(store: Any) -> dict[TP, int]:
    """The partitions a memory store loaded whole and the last offset of each."""
    return dict(getattr(store, "_loaded_to", {}))
