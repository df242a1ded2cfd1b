"""Which partition a hub producer sends a key to.

The hub's own producers (aiokafka, under Faust) use murmur2, as Java clients do. Outside
producers may not (librdkafka's default is CRC32), so input topics joined on a key are re-keyed
through a hub-produced topic before any table relies on co-partitioning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiokafka.partitioner import murmur2

if TYPE_CHECKING:
    from streams.kernel.hub import Hub


def partition_for(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def broker_partitions(app: Any, topic: str) -> int | None:
    """How many partitions `topic` has on the broker, as this worker's consumer last read its
    metadata (it reads that of the topics it subscribes to); None if it has not.

    Not Faust's `Consumer.topic_partitions`: that reads aiokafka's snapshot of the group's
    metadata, which only the group's leader keeps (it computes the assignment). On every other
    worker of a group it said None, so each packed record landing there had its items sent on
    alone, one record each: two replicas took 50% more records than one worker.
    """
    consumer = getattr(getattr(app.consumer, "_thread", None), "_consumer", None)
    found = consumer.partitions_for_topic(topic) if consumer is not None else None
    return len(found) if found else None


def produced_partitions(hub: Hub, alias: str) -> int:
    """How many partitions the topic `alias` has, as this worker's consumer last read them from
    the broker when it reads that topic, else as topics.yaml declares (what the hub creates)."""
    spec = hub.catalog[alias]
    return broker_partitions(hub.app, spec.name) or spec.partitions


def pack_bytes(hub: Hub, alias: str) -> int:
    """The most a packed record of `alias` may hold: half the topic's record limit, and below
    what a dead letter keeps whole (a pack dead-lettered as a whole can be replayed)."""
    from streams.contracts.records import MAX_RECORD_BYTES

    return min(hub.catalog[alias].max_message_bytes // 2, MAX_RECORD_BYTES - 8192)
