"""Topic creation from topics.yaml on the real broker: idempotent, partitions as declared."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer

from streams.admin import create_topics, messages_from, produce
from streams.contracts.topics import load_catalog
from streams.kernel.kafka_security import PLAINTEXT

pytestmark = pytest.mark.integration


async def test_create_topics_is_idempotent_and_uses_declared_partitions(broker: str) -> None:
    catalog = load_catalog(partitions_override=3)
    first = await create_topics(broker, catalog, security=PLAINTEXT)
    assert set(first.values()) == {"created"} and len(first) == len(catalog)
    second = await create_topics(broker, catalog, security=PLAINTEXT)
    assert set(second.values()) == {"exists"}

    consumer = AIOKafkaConsumer(bootstrap_servers=broker)
    await consumer.start()
    try:
        metadata = await consumer._client.fetch_all_metadata()
        for spec in catalog:
            assert len(metadata.partitions_for_topic(spec.name) or ()) == 3, spec.name
    finally:
        await consumer.stop()


async def test_produce_keys_each_message_by_the_topics_key_field(broker: str) -> None:
    catalog = load_catalog()
    spec = catalog["bit_scores"]
    await create_topics(broker, [spec], security=PLAINTEXT)
    docs = [{"company_sov_id": f"c{i}", "bit_score": 50} for i in range(3)]
    sent = await produce(broker, spec.name, messages_from(docs, spec, key=None), security=PLAINTEXT)
    assert sent == 3
    consumer = AIOKafkaConsumer(spec.name, bootstrap_servers=broker, auto_offset_reset="earliest",
                                group_id="t-produce")
    await consumer.start()
    try:
        got = await consumer.getmany(timeout_ms=5000)
        keys = sorted(m.key for batch in got.values() for m in batch)
    finally:
        await consumer.stop()
    assert keys == [b"c0", b"c1", b"c2"]
