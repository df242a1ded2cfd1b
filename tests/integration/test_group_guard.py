"""Moving a stage to another pool must not silently re-process its topics: on the real broker,
a new group is refused where another group of the app consumed its inputs, and only there."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.contracts.exceptions import ConfigurationError
from streams.kernel.group_guard import groups_that_consumed, refuse_a_new_group_over_consumed_topics
from streams.kernel.kafka_security import PLAINTEXT

pytestmark = pytest.mark.integration


async def consume_and_commit(bootstrap: str, group: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, b"touch", key=b"k")
    await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        while not await consumer.getmany(timeout_ms=1000):
            pass
        await consumer.commit()
    finally:
        await consumer.stop()


async def test_a_new_pool_over_topics_the_all_in_one_group_consumed_is_refused(
        broker: str) -> None:
    await consume_and_commit(broker, "hub", "outreach.send.requests")
    sender = {"outreach.send.requests": 1}
    with pytest.raises(ConfigurationError, match=r"'hub-sender' is new.*'hub' consumed "
                                                 r"outreach\.send\.requests"):
        await refuse_a_new_group_over_consumed_topics(broker, "hub", "hub-sender", sender,
                                                      security=PLAINTEXT)
    # A pool whose inputs nobody consumed yet (a first deployment of that stage) starts.
    assert await groups_that_consumed(broker, "hub", "hub-sequencer",
                                      {"outreach.sequence.commands": 1}, security=PLAINTEXT) == {}
    # Another app's groups are not this app's history.
    assert await groups_that_consumed(broker, "other", "other-sender", sender,
                                      security=PLAINTEXT) == {}


async def test_a_group_that_exists_is_a_restart_not_a_move(broker: str) -> None:
    await consume_and_commit(broker, "hub", "outreach.send.requests")
    await consume_and_commit(broker, "hub-sender", "outreach.send.requests")
    assert await groups_that_consumed(broker, "hub", "hub-sender",
                                      {"outreach.send.requests": 1}, security=PLAINTEXT) == {}
