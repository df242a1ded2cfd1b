"""Which partition a hub producer sends a key to.

The hub's own producers (aiokafka, under Faust) use murmur2, as Java clients do. Outside
producers may not (librdkafka's default is CRC32), so input topics joined on a key are re-keyed
through a hub-produced topic before any table relies on co-partitioning.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
