"""Delivery that never waits on one stage's full queue.

Faust's conductor hands each fetched record to its agent's queue, in fetch order, one at a
time; when that queue is full it waits for room, and every other stage waits with it
(measured inside a worker at 50% load of bench/e2e.py: up to 8 of every 10 s spent in that
wait while the sender's queue was full). Here a stage's queue that is full holds the record
aside and stops fetching its partition instead: the conductor goes on to the next record, the
held records move into the queue, in order, as the stage takes records out, and the paused
partitions fetch again once nothing is held and the queue has drained to Faust's own
pressure-drop size. While anything is held every record for that queue is held behind it, so
the records of one partition keep their order.

How much is held is bounded by what was fetched before the pause took effect (the rest of one
fetch of that partition). Held records are not acknowledged, so they are never committed; a
rebalance clears them with the queue (Faust clears every stage queue when flow resumes) and
they are fetched again from the committed offset.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import faust
from faust.types import TP
from mode.utils.queues import ThrowableQueue


class HoldingQueue(ThrowableQueue):
    """A stage's queue: full means "hold it", never "wait" (module docstring)."""

    def __init__(self, maxsize: int, *, pause: Callable[[TP], None],
                 resume: Callable[[TP], None], **kwargs: Any) -> None:
        super().__init__(maxsize, **kwargs)
        self.held: deque[Any] = deque()
        self.paused: set[TP] = set()
        self._pause, self._resume = pause, resume

    def full(self) -> bool:
        # Never: the conductor then puts without waiting, and a record past the queue's size
        # is held (_put) rather than waited for.
        return False

    def _put(self, event: Any) -> None:
        if self.held or len(self._queue) >= self.maxsize > 0:  # type: ignore[attr-defined]
            self.hold(event)
        else:
            self._queue.append(event)  # type: ignore[attr-defined]

    def hold(self, event: Any) -> None:
        self.held.append(event)
        # Faust's TP: a message's own `tp` is aiokafka's TopicPartition, which Faust's consumer
        # refuses among its active partitions (an assertion that stops the worker).
        tp = TP(event.message.topic, event.message.partition)
        self.paused.add(tp)
        # Every time: Faust's own pressure-drop callback may have resumed it meanwhile.
        self._pause(tp)

    def get_nowait(self) -> Any:
        # asyncio.Queue.get ends in get_nowait too: one place sees every record taken.
        event = super().get_nowait()
        if self.paused:
            self._refill()
        return event

    def _refill(self) -> None:
        held, queue = self.held, self._queue  # type: ignore[attr-defined]
        while held and len(queue) < self.maxsize:
            queue.append(held.popleft())  # counted as put when it was held
        if not held and len(queue) <= self.pressure_drop_size:
            for tp in self.paused:
                self._resume(tp)
            self.paused.clear()

    def clear(self) -> None:
        # A rebalance (or a stop): Faust clears every stage queue, pauses the assignment and,
        # once assigned, seeks to the committed offsets and makes every assigned partition
        # active again. What was held is fetched again from there; resuming here would only
        # put a partition being revoked back among the active ones.
        super().clear()
        self.held.clear()
        self.paused.clear()


class HoldingTopic(faust.Topic):
    """A topic a stage reads, over a HoldingQueue (Faust clones the topic it iterates with
    `type(self)`, so the clone is one too)."""

    @property
    def queue(self) -> ThrowableQueue:
        if self._queue is None:
            app = self.app
            self._queue = HoldingQueue(
                self.maxsize or app.conf.stream_buffer_maxsize,
                pause=lambda tp: app.consumer.on_buffer_full(tp),
                resume=lambda tp: app.consumer.on_buffer_drop(tp),
                flow_control=app.flow_control, clear_on_resume=True)
        return self._queue

    async def put(self, event: Any) -> None:
        self.queue.put_nowait(event)  # never waits: HoldingQueue.full is never true
