"""A reader of a whole topic for the e2e tier, as an independent client would check it.

Assigned, not subscribed: it takes every partition from its start and joins no consumer
group. A reader that only looks at what a topic holds needs no group, and on the embedded
broker a new group's first join held each such reader ~23 s with librdkafka's defaults
(measured against an idle Tansu: 23.2 s to the first record subscribed, 0.01 s assigned).
"""

from __future__ import annotations

import json
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def topic_reader(bootstrap: str, topic: str, wait: float = 10) -> Consumer:
    """A consumer of every partition of `topic`, from offset 0; the topic must exist within
    `wait` seconds (created by the test's `prepare` or the worker)."""
    # A group id librdkafka requires, never joined: nothing is committed under it.
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-topic-reader",
                         "enable.auto.commit": False, "enable.auto.offset.store": False})
    deadline = time.monotonic() + wait
    while True:
        meta = consumer.list_topics(topic, timeout=wait).topics.get(topic)
        if meta is not None and meta.error is None and meta.partitions:
            break
        if time.monotonic() > deadline:
            consumer.close()
            raise AssertionError(f"topic {topic} has no partitions after {wait}s")
        time.sleep(0.2)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions])
    return consumer


def topic_records(bootstrap: str, topic: str, idle_polls: int = 6) -> list[dict[str, Any]]:
    """Every record of `topic` as JSON, once `idle_polls` polls of 0.5 s in a row found none
    (what the topic holds once its writers are done)."""
    consumer = topic_reader(bootstrap, topic)
    records: list[dict[str, Any]] = []
    idle = 0
    while idle < idle_polls:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            idle += 1
            continue
        idle = 0
        records.append(json.loads(msg.value()))
    consumer.close()
    return records
