"""The memory store applies raw changelog records as Faust's replay would (kernel/table_stores.py):
through the table's own serializers, in offset order, the last write of a key winning and a
tombstone deleting it; a partition counts as loaded only once it was read to its end."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import orjson
import pytest
from aiokafka import ConsumerRecord
from faust.types import TP

from streams.app import create_app
from streams.kernel import changelog_load
from streams.kernel.settings import Settings
from streams.kernel.table_stores import (
    ChangelogLoadedMemoryStore,
    ChangelogLoadedRocksStore,
    loaded_offsets,
)

TOPIC = "outreach-hub-sequencer-people-changelog"


def record(offset: int, key: str, value: object, partition: int = 0) -> ConsumerRecord:
    """A changelog record as Faust writes it: key and value through its json codec."""
    raw = None if value is None else orjson.dumps(value)
    return ConsumerRecord(topic=TOPIC, partition=partition, offset=offset, timestamp=0,
                          timestamp_type=0, key=orjson.dumps(key), value=raw, checksum=None,
                          serialized_key_size=0, serialized_value_size=0, headers=())


def people_table(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(stages=("sequencer",), data_dir=tmp_path)  # type: ignore[arg-type]
    hub = create_app(settings, "127.0.0.1:1", "postgresql://127.0.0.1:1/none")
    return next(t for t in hub.app.tables.values() if t.name == "sequencer-people")


def test_every_table_of_the_memory_store_loads_its_changelog_in_bulk(tmp_path: Path) -> None:
    table = people_table(tmp_path)
    assert isinstance(table.data, ChangelogLoadedMemoryStore)


def test_records_apply_in_order_last_write_wins_and_a_tombstone_deletes(tmp_path: Path) -> None:
    table = people_table(tmp_path)
    store = table.data
    store.apply_records([
        record(0, "ck_a", '{"v":1}'),
        record(1, "ck_b", '{"v":1}', partition=2),
        record(2, "ck_a", '{"v":2}'),
        record(3, "ck_c", '{"v":1}'),
        record(4, "ck_c", None),
    ])
    assert table["ck_a"] == '{"v":2}'
    assert table["ck_b"] == '{"v":1}'
    assert "ck_c" not in table
    assert sorted(store.data) == ["ck_a", "ck_b"]
    # The partition of each key is kept: Faust drops keys of partitions no longer assigned.
    assert store._key_partition == {"ck_a": 0, "ck_b": 2}
    # Applying is not loading: no partition is claimed, so Faust would still replay them all.
    assert loaded_offsets(store) == {}
    assert store.persisted_offset(TP(TOPIC, 0)) is None


def test_a_loaded_partition_follows_its_acknowledged_writes_and_a_revoked_one_is_forgotten(
    tmp_path: Path
) -> None:
    store = people_table(tmp_path).data
    loaded, elsewhere = TP(TOPIC, 0), TP(TOPIC, 1)
    store._loaded_to[loaded] = 41  # what a whole load of partition 0 leaves
    store.set_persisted_offset(loaded, 57)  # this worker's write, acknowledged
    store.set_persisted_offset(loaded, 50)  # an older acknowledgement never moves it back
    store.set_persisted_offset(elsewhere, 12)  # not loaded whole: Faust replays it all
    assert store.persisted_offset(loaded) == 57
    assert store.persisted_offset(elsewhere) is None
    # Revoked: when it comes back, another worker may have written it; it is loaded again.
    asyncio.run(store.on_rebalance(set(), {loaded}, set()))
    assert store.persisted_offset(loaded) is None
    store.set_persisted_offset(loaded, 60)  # a late acknowledgement after the revoke
    assert store.persisted_offset(loaded) is None


def test_the_disk_store_writes_a_chunk_as_the_log_has_it_and_then_its_offset(
    tmp_path: Path
) -> None:
    settings = Settings(stages=("sequencer",), data_dir=tmp_path,  # type: ignore[arg-type]
                        table_store="rocksdict")
    hub = create_app(settings, "127.0.0.1:1", "postgresql://127.0.0.1:1/none")
    table = next(t for t in hub.app.tables.values() if t.name == "sequencer-people")
    store = table.data
    assert isinstance(store, ChangelogLoadedRocksStore)
    tp = TP(TOPIC, 0)
    assert store.persisted_offset(tp) is None
    store.apply_records(tp, [record(7, "ck_a", '{"v":1}'), record(8, "ck_c", '{"v":1}')])
    store.apply_records(tp, [record(9, "ck_a", '{"v":2}'), record(10, "ck_c", None)])
    db = store._db_for_partition(0)
    assert db[orjson.dumps("ck_a")] == orjson.dumps('{"v":2}')  # the log's bytes, as Faust's
    assert db.get(orjson.dumps("ck_c")) is None
    # Recovery resumes after the last chunk written: a load cut short goes on from there.
    assert store.persisted_offset(tp) == 10


def test_a_load_runs_beside_the_rebalance_and_a_failed_one_leaves_the_partition_to_faust(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """aiokafka sends no heartbeat while a rebalance callback runs: the callback only starts
    the load. Faust's recovery waits for it (`settle`); one that failed (here: no broker)
    claims nothing, so Faust replays the partition."""
    store = people_table(tmp_path).data
    tp = TP(store.table.changelog_topic.get_topic_name(), 0)

    async def rebalance_then_recover() -> float:
        started = time.monotonic()
        await store.on_rebalance({tp}, set(), {tp}, 0)
        returned = time.monotonic() - started
        await changelog_load.settle(store.app, 30)
        return returned

    assert asyncio.run(rebalance_then_recover()) < 0.1
    assert "a changelog load failed (KafkaConnectionError)" in caplog.text
    assert not store._loads  # a finished load is not kept
    assert store.persisted_offset(tp) is None
    assert loaded_offsets(store) == {}


def test_a_wait_cut_short_keeps_the_load_for_the_next_and_a_stopping_store_stops_its_loads(
    tmp_path: Path
) -> None:
    """A newer rebalance cancels Faust's recovery step while it waits: the load must still be
    waited for (or stopped) by the next one, never left applying beside Faust's replay; a
    store that stops takes its loads down first. The broker here accepts and never answers."""
    table = people_table(tmp_path)
    store = table.data
    tp = TP(table.changelog_topic.get_topic_name(), 0)

    async def scenario() -> None:
        server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        changelog_load.register(store.app, f"127.0.0.1:{port}", Settings().kafka)
        try:
            first = changelog_load.start(store, {tp: None}, lambda _tp, _r: None, 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changelog_load.settle(store.app, 30), 0.2)
            assert not first.done()  # the cut-short wait neither lost nor stopped it
            await changelog_load.settle(store.app, 0.2)  # the next wait: past its budget
            assert first.cancelled()
            await store.on_rebalance({tp}, set(), {tp}, 0)
            (second,) = store._loads
            await store.stop()
            assert second.done()
        finally:
            server.close()

    asyncio.run(scenario())
