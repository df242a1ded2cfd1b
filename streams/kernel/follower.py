"""Follow a whole topic on every worker, outside any consumer group.

The views every worker keeps (campaign status, command outcomes, domain health) need every
partition, not the share a group would give them; faust's GlobalTable has an open bug with
several workers, so they read with a plain aiokafka consumer instead. `follow` assigns all
partitions, starts at the beginning or the end, and says when it has read what the topic held
at start (`on_ready`), so a view can tell a caller "caught up" rather than "empty".
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.kernel.kafka_security import KafkaSecurity, client_kwargs

if TYPE_CHECKING:
    from streams.kernel.hub import Hub


class Following(Protocol):
    async def follow(self) -> None: ...


V = TypeVar("V", bound=Following)


def one_per_worker(hub: Hub, key: str, make: Callable[[], V]) -> V:
    """The worker's one view under `key` (the stages that read it share it), following its
    topic from a task of the worker's app once made."""
    held = hub.shared.get(key)
    if held is not None:
        return held
    view = make()
    hub.shared[key] = view

    async def follow_view() -> None:
        await view.follow()

    follow_view.__name__ = follow_view.__qualname__ = f"follow_{key}"
    hub.app.task(follow_view)
    return view


async def reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    """Every partition's position is at or past its end offset in `ends`: positions, not
    message offsets (compaction and transaction markers leave gaps in offsets)."""
    return all([await consumer.position(tp) >= end for tp, end in ends.items()])


class Progress:
    """How far a follower has read, so a caller can wait until it has read what the topic
    holds now: a record written before the call is then folded into the view."""

    def __init__(self) -> None:
        self.consumer: AIOKafkaConsumer | None = None
        self.tps: list[TopicPartition] = []
        self._moved = asyncio.Event()

    def moved(self) -> None:
        self._moved.set()

    async def caught_up(self, timeout: float) -> bool:
        """True once every partition's position has reached its end offset as of this call
        (records are folded before their position is seen: `follow` folds a batch without an
        await); False if not following, or not there within `timeout` seconds."""
        consumer, tps = self.consumer, self.tps
        if consumer is None or not tps:
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            ends = await asyncio.wait_for(consumer.end_offsets(tps), timeout)
            while True:
                self._moved.clear()
                if await reached(consumer, ends):
                    return True
                await asyncio.wait_for(self._moved.wait(), deadline - loop.time())
        except (TimeoutError, ValueError):  # ValueError: no time left for wait_for
            return False


async def follow(
    topic: str, bootstrap: str, security: KafkaSecurity, on_message: Callable[[Any], None],
    on_ready: Callable[[], None], *, start: Literal["beginning", "end"],
    poll_ms: int = 1000, progress: Progress | None = None,
) -> None:
    """Read `topic` forever, calling `on_message` for each record; `on_ready` once the records
    the topic held when following began are read (from the end: as soon as positions are
    pinned, so a record produced after `on_ready` is seen). `progress` is told what is read."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                **client_kwargs(security))
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            await consumer.client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
            await asyncio.sleep(0.5)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        ready = False
        if start == "end":
            await consumer.seek_to_end(*tps)
            for tp in tps:  # pin the end now
                await consumer.position(tp)
            on_ready()
            ready = True
        else:
            await consumer.seek_to_beginning(*tps)
        # What the topic held at start: positions, not message offsets, tell when it is read
        # (compaction and transaction markers leave gaps in offsets).
        ends = {} if ready else await consumer.end_offsets(tps)
        if progress is not None:
            progress.consumer, progress.tps = consumer, tps
        while True:
            batch = await consumer.getmany(timeout_ms=poll_ms)
            for messages in batch.values():
                for message in messages:
                    on_message(message)
            if progress is not None:
                progress.moved()
            if not ready and await reached(consumer, ends):
                on_ready()
                ready = True
    finally:
        if progress is not None:
            progress.consumer = None
        await consumer.stop()
