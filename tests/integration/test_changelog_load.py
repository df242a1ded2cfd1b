"""The stores' bulk load on the real broker (kernel/changelog_load.py, kernel/table_stores.py):
a changelog partition written as Faust writes it (an overwrite, a tombstone) loads to the table
Faust's replay would give, the store claims its last offset (an empty partition: -1, so its own
later writes are followed), and the disk store's load resumes from the offset it holds."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faust.types import TP

from streams.app import create_app
from streams.kernel import changelog_load
from streams.kernel.settings import Settings

PARTITIONS = 2


def people(bootstrap: str, tmp_path: Path, store: str):  # type: ignore[no-untyped-def]
    settings = Settings(app_id=f"load-{uuid.uuid4().hex[:8]}", stages=("sequencer",),  # type: ignore[arg-type]
                        data_dir=tmp_path / store, table_store=store,
                        topic_partitions=PARTITIONS)
    hub = create_app(settings, bootstrap, "postgresql://127.0.0.1:1/none")
    return next(t for t in hub.app.tables.values() if t.name == "sequencer-people")


async def write_changelog(bootstrap: str, topic: str, records: list[tuple[str, object]]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value in records:  # all on partition 0; partition 1 stays empty
            await producer.send_and_wait(
                topic, key=orjson.dumps(key), partition=0,
                value=None if value is None else orjson.dumps(value))
    finally:
        await producer.stop()


async def people_with_changelog(bootstrap: str, tmp_path: Path, store: str):  # type: ignore[no-untyped-def]
    """The people table on `store`, its changelog holding an overwrite and a tombstone at
    offsets 0..3 of partition 0 (ck_a: v1, ck_b: v1, ck_a: v2, ck_b deleted)."""
    table = people(bootstrap, tmp_path, store)
    topic = table.changelog_topic.get_topic_name()
    await write_changelog(bootstrap, topic, [("ck_a", '{"v":1}'), ("ck_b", '{"v":1}'),
                                             ("ck_a", '{"v":2}'), ("ck_b", None)])
    return table, topic


async def test_a_changelog_loads_as_faust_would_replay_it_and_the_offsets_are_claimed(
    broker: str, tmp_path: Path
) -> None:
    table, topic = await people_with_changelog(broker, tmp_path, "memory")
    written, empty = TP(topic, 0), TP(topic, 1)
    store = table.data
    await store.on_rebalance({written, empty}, set(), {written, empty}, 0)
    await changelog_load.settle(store.app, 30)
    assert dict(store.data) == {"ck_a": '{"v":2}'}
    assert store.persisted_offset(written) == 3  # Faust's recovery reads nothing more
    assert store.persisted_offset(empty) == -1
    store.set_persisted_offset(empty, 0)  # this worker's first write there, acknowledged
    assert store.persisted_offset(empty) == 0


async def test_the_disk_store_loads_what_it_lacks_and_resumes_from_its_offset(
    broker: str, tmp_path: Path
) -> None:
    table, topic = await people_with_changelog(broker, tmp_path, "rocksdict")
    tp = TP(topic, 0)
    store = table.data
    # It holds offsets 0..2 already (as a stopped worker left them): only offset 3 is read.
    held = store._db_for_partition(0)
    held[orjson.dumps("ck_a")] = orjson.dumps('{"v":"as held"}')
    held[orjson.dumps("ck_b")] = orjson.dumps('{"v":1}')
    store.set_persisted_offset(tp, 2)
    await store.on_rebalance({tp}, set(), {tp}, 0)
    await changelog_load.settle(store.app, 30)
    db = store._db_for_partition(0)
    assert db[orjson.dumps("ck_a")] == orjson.dumps('{"v":"as held"}')  # not read again
    assert db.get(orjson.dumps("ck_b")) is None  # the tombstone at offset 3
    assert store.persisted_offset(tp) == 3
    await store.stop()
