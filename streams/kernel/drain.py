"""Faust's drain loop without four tasks per record.

Faust (0.15 `Consumer._drain_messages`) hands each fetched record to the conductor through
`wait_first(callback(message), suspend_flow.wait())`: four tasks made and three cancelled per
record (the callback, the suspend flag, the service's stopped and crashed flags), so a record
costs at least one turn of the event loop, and delivery crawls while the stages' batches hold
the loop (at 50% load of bench/e2e.py a reply reached the conductor 1-3 s after it was
published, with no wait in its stage's queue after that). On the Faust floor's one-agent app
this drain reads 2.2-2.6x as many records per second (bench/faust_floor.py --delivery-ab).

The wait exists so that a rebalance can interrupt a callback waiting for room in a full queue.
A stage's queue never waits here (kernel/delivery.py), so for a record read only by stages
the callback finishes without yielding unless flow is suspended (a rebalance), the producer's
buffer is over Faust's limit (the callback flushes it first), or the conductor's index is
being rebuilt (its lock). In exactly those cases, and for any other reader's record (a table's
changelog in recovery), the record goes Faust's way; otherwise the callback is awaited directly.
Everything else is Faust's loop as it is (read offsets, gaps, a yield every 100 records),
except that the commit every `broker_commit_every` acknowledgements runs beside the loop
(`commit_beside`) instead of holding it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from faust.transport.consumer import CONSUMER_FETCHING, Consumer

from streams.kernel.delivery import HoldingTopic

log = logging.getLogger(__name__)


async def _direct_drain_messages(self: Any, fetcher: Any) -> None:  # pragma: no cover - loop
    callback = self.callback
    getmany = self.getmany
    consumer_should_stop = self._stopped.is_set
    fetcher_should_stop = fetcher._stopped.is_set
    get_read_offset = self._read_offset.__getitem__
    set_read_offset = self._read_offset.__setitem__
    set_flag, unset_flag = self.diag.set_flag, self.diag.unset_flag
    commit_every = self._commit_every
    acks_enabled_for = self.app.topics.acks_enabled_for
    suspended = self.suspend_flow.is_set
    flow_active = self.app.flow_control.is_active
    conductor = self.app.topics
    index_locked = conductor._tp_to_callback_lock.locked
    buffer = self.app.producer.buffer

    def goes_through(tp: Any) -> bool:
        """The callback cannot wait: every queue it fills is a stage's HoldingQueue (not a
        table's changelog queue in recovery), no rebalance, no buffer to flush, no index
        being rebuilt."""
        channels = conductor._tp_index.get(tp)
        return (not suspended() and flow_active() and not index_locked()
                and buffer.size <= buffer.max_messages and bool(channels)
                and all(type(c) is HoldingTopic for c in channels))

    yield_every = 100
    num_since_yield = 0
    sleep = asyncio.sleep
    try:
        while not (consumer_should_stop() or fetcher_should_stop()):
            set_flag(CONSUMER_FETCHING)
            ait = getmany(timeout=1.0)
            await self.sleep(0)
            if not self.should_stop:
                async for tp, message in ait:
                    num_since_yield += 1
                    if num_since_yield > yield_every:
                        await sleep(0)
                        num_since_yield = 0
                    offset = message.offset
                    r_offset = get_read_offset(tp)
                    if r_offset is None or offset >= r_offset:
                        gap = offset - (r_offset or 0)
                        if gap > 1 and r_offset and acks_enabled_for(message.topic):
                            await self._add_gap(tp, r_offset + 1, offset)
                        if commit_every is not None and self._n_acked >= commit_every:
                            self._n_acked = 0
                            commit_beside(self)
                        if goes_through(tp):
                            await callback(message)
                        else:
                            await self.wait_first(callback(message), self.suspend_flow.wait())
                        set_read_offset(tp, offset)
                unset_flag(CONSUMER_FETCHING)
    except self.consumer_stopped_errors:
        if self.transport.app.should_stop:
            self.log.info("Broker stopped consumer, shutting down...")
            return
        raise
    except asyncio.CancelledError:
        if self.transport.app.should_stop:
            self.log.info("Consumer shutting down for user cancel.")
            return
        raise
    except Exception as exc:
        self.log.exception("Drain messages raised: %r", exc)
        raise
    finally:
        unset_flag(CONSUMER_FETCHING)


_commits: set[asyncio.Task[Any]] = set()


def commit_beside(consumer: Any) -> None:
    """Start a commit beside the delivery instead of awaiting it here, as Faust's loop does
    every `broker_commit_every` acknowledgements: a commit waits for the table writes it covers
    (kernel/commit_guard.py, up to 5 s) and for Faust's producer flush, and no record reached
    any stage meanwhile. The interval timer commits the same way, beside the delivery; one
    commit at a time, as Faust's `commit` itself ensures."""
    if consumer._commit_fut is not None or _commits:
        return  # one is running; it or the next one covers these acknowledgements
    task = asyncio.ensure_future(consumer.commit())
    _commits.add(task)
    task.add_done_callback(_committed)


def _committed(task: asyncio.Task[Any]) -> None:
    _commits.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("a commit beside the delivery failed (%s); the interval timer commits next",
                  type(task.exception()).__name__)


def install() -> None:
    """Every Faust consumer of this process drains this way (its stages' topics must be
    HoldingTopics, whose queues never wait: streams/kernel/hub.py and channel.py make them)."""
    Consumer._drain_messages = cast(Any, _direct_drain_messages)  # type: ignore[method-assign]
