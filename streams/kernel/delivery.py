"""Delivery that never waits on one stage's full queue, and puts a stage's reply path first.

Faust's conductor hands each fetched record to its agent's queue, in fetch order, one at a
time; when that queue is full it waits for room, and every other stage waits with it
(measured inside a worker at 50% load of bench/e2e.py: up to 8 of every 10 s spent in that
wait while the sender's queue was full). Here a stage's queue that is full holds the record
aside and stops fetching its partition instead: the conductor goes on to the next record, the
held records move into the queue, in order, as the stage takes records out, and the paused
partitions fetch again once nothing is held and the queue has drained to Faust's own
pressure-drop size. While anything is held every record for that queue is held behind it, so
the records of one partition keep their order.

A stage that reads its reply path and bulk work from one queue (the sequencer: engagement
signals beside touches and send reports) names the reply path's topics `first`: their records
go into a lane of their own, which the stage takes from before the other. Order is kept per
lane, so per partition; between topics Kafka promises no order, and the cores already meet
records of different topics in any order (a signal waits for its send, OUT-004). Each lane
holds and pauses on its own, so a queue holds up to twice its size.

How much is held is bounded by what was fetched before the pause took effect (the rest of one
fetch of that partition). Held records are not acknowledged, so they are never committed; a
rebalance clears them with the queue (Faust clears every stage queue when flow resumes) and
they are fetched again from the committed offset.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import faust
from faust.types import TP
from mode.utils.queues import ThrowableQueue


class Lane:
    """Records of a queue taken in one order: queued up to the queue's size, then held, with
    the partitions paused while anything of theirs is held."""

    __slots__ = ("held", "paused", "queued")

    def __init__(self, queued: deque[Any]) -> None:
        self.queued = queued
        self.held: deque[Any] = deque()
        self.paused: set[TP] = set()


class HoldingQueue(ThrowableQueue):
    """A stage's queue: full means "hold it", never "wait"; records of the `first` topics
    are taken before the others (module docstring)."""

    def __init__(self, maxsize: int, *, pause: Callable[[TP], None],
                 resume: Callable[[TP], None], first: Iterable[str] = (),
                 **kwargs: Any) -> None:
        super().__init__(maxsize, **kwargs)
        self.first_topics = frozenset(first)
        self.rest = Lane(self._queue)  # type: ignore[attr-defined]
        self.first = Lane(deque())
        self._pause, self._resume = pause, resume

    @property
    def held(self) -> list[Any]:
        return [*self.first.held, *self.rest.held]

    @property
    def paused(self) -> set[TP]:
        return self.first.paused | self.rest.paused

    def full(self) -> bool:
        # Never: the conductor then puts without waiting, and a record past the queue's size
        # is held (_put) rather than waited for.
        return False

    def qsize(self) -> int:
        return len(self.first.queued) + len(self.rest.queued)

    def empty(self) -> bool:
        return not self.first.queued and not self.rest.queued and not self._errors

    def _put(self, event: Any) -> None:
        first = self.first_topics
        lane = self.first if first and event.message.topic in first else self.rest
        if lane.held or len(lane.queued) >= self.maxsize > 0:
            self.hold(lane, event)
        else:
            lane.queued.append(event)

    def hold(self, lane: Lane, event: Any) -> None:
        lane.held.append(event)
        # Faust's TP: a message's own `tp` is aiokafka's TopicPartition, which Faust's consumer
        # refuses among its active partitions (an assertion that stops the worker).
        tp = TP(event.message.topic, event.message.partition)
        lane.paused.add(tp)
        # Every time: Faust's own pressure-drop callback may have resumed it meanwhile.
        self._pause(tp)

    def _get(self) -> Any:
        # asyncio.Queue's get and get_nowait both end here: one place sees every record taken.
        lane = self.first if self.first.queued else self.rest
        event = lane.queued.popleft()
        if lane.paused:
            self._refill(lane)
        return event

    def _refill(self, lane: Lane) -> None:
        held, queued = lane.held, lane.queued
        while held and len(queued) < self.maxsize:
            queued.append(held.popleft())  # counted as put when it was held
        if not held and len(queued) <= self.pressure_drop_size:
            for tp in lane.paused:
                self._resume(tp)
            lane.paused.clear()

    def clear(self) -> None:
        # A rebalance (or a stop): Faust clears every stage queue, pauses the assignment and,
        # once assigned, seeks to the committed offsets and makes every assigned partition
        # active again. What was held is fetched again from there; resuming here would only
        # put a partition being revoked back among the active ones.
        super().clear()
        for lane in (self.first, self.rest):
            lane.queued.clear()
            lane.held.clear()
            lane.paused.clear()


class HoldingTopic(faust.Topic):
    """A topic a stage reads, over a HoldingQueue (Faust clones the topic it iterates with
    `type(self)` and `_clone_args`, so the clone is one too, with the same `first`)."""

    def __init__(self, *args: Any, first: Iterable[str] = (), **kwargs: Any) -> None:
        self.first = frozenset(first)
        super().__init__(*args, **kwargs)

    def _clone_args(self) -> Mapping[str, Any]:
        return {**super()._clone_args(), "first": self.first}

    @property
    def queue(self) -> ThrowableQueue:
        if self._queue is None:
            app = self.app
            self._queue = HoldingQueue(
                self.maxsize or app.conf.stream_buffer_maxsize,
                pause=lambda tp: app.consumer.on_buffer_full(tp),
                resume=lambda tp: app.consumer.on_buffer_drop(tp),
                first=self.first, flow_control=app.flow_control, clear_on_resume=True)
        return self._queue

    async def put(self, event: Any) -> None:
        self.queue.put_nowait(event)  # never waits: HoldingQueue.full is never true
