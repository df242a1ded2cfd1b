"""Shared bench pieces: the embedded broker, and raw aiokafka as the yardstick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def raw_produce_rate(bootstrap: str, topic: str, count: int = 100_000) -> float:
    """Messages per second raw aiokafka produces (small JSON values, default batching)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    value = orjson.dumps({"company_sov_id": "cmp_0001", "bit_score": 63, "n": 0})
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, value=value, key=str(i % 64).encode())
                   for i in range(count)]
        await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def count_messages(bootstrap: str, topic: str, expected: int, timeout: float,
                         predicate: Callable[[Any], bool] | None = None
                         ) -> tuple[int, float, float]:
    """Read `topic` from the start until `expected` messages matched; returns (count, first
    and last broker timestamps in seconds)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    seen, first, last = 0, float("inf"), 0.0
    deadline = time.monotonic() + timeout
    try:
        while seen < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for r in records:
                    if predicate is None or predicate(r.value):
                        seen += 1
                        first = min(first, r.timestamp / 1000)
                        last = max(last, r.timestamp / 1000)
    finally:
        await consumer.stop()
    return seen, first, last
