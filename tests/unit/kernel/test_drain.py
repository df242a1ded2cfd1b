"""The drain hands a record read only by stages to the conductor directly, in the drain's own
task (kernel/drain.py); anything that could make the callback wait goes Faust's way, through
`wait_first`, which a rebalance can interrupt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.types import TP

from streams.kernel import drain
from streams.kernel.delivery import HoldingTopic
from streams.kernel.drain import _direct_drain_messages

STAGE_TP, CHANGELOG_TP = TP("outreach.send.events", 0), TP("hub-sequencer-people-changelog", 0)


class Flag:
    def __init__(self, value: bool = False) -> None:
        self.value = value

    def is_set(self) -> bool:
        return self.value

    async def wait(self) -> None:
        await asyncio.sleep(3600)


class Drain:
    """What `_direct_drain_messages` reads of Faust's consumer; records from one fetch."""

    def __init__(self, records: list[tuple[TP, int]], *, suspended: bool = False,
                 buffered: int = 0) -> None:
        self.records = records
        self.delivered: list[tuple[int, str]] = []  # (offset, "direct" | "wait_first")
        self._stopped, self.fetcher = Flag(), SimpleNamespace(_stopped=Flag())
        self._read_offset: dict[Any, int | None] = {STAGE_TP: None, CHANGELOG_TP: None}
        self.diag = SimpleNamespace(set_flag=lambda _f: None, unset_flag=lambda _f: None)
        self._commit_every, self._n_acked = None, 0
        self.suspend_flow = Flag(suspended)
        stage = HoldingTopic.__new__(HoldingTopic)
        self.app = SimpleNamespace(
            topics=SimpleNamespace(acks_enabled_for=lambda _t: True,
                                   _tp_to_callback_lock=asyncio.Lock(),
                                   _tp_index={STAGE_TP: {stage}, CHANGELOG_TP: {object()}}),
            flow_control=SimpleNamespace(is_active=lambda: True),
            producer=SimpleNamespace(buffer=SimpleNamespace(size=buffered, max_messages=100)))
        self.should_stop, self.consumer_stopped_errors = False, ()
        self.drain_task: asyncio.Task[None] | None = None

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        for tp, offset in self.records:
            # aiokafka's TopicPartition, as Faust's getmany yields it.
            yield TopicPartition(*tp), SimpleNamespace(offset=offset, topic=tp.topic)
        self._stopped.value = True  # one fetch, then the consumer stops

    async def callback(self, message: Any) -> None:
        direct = asyncio.current_task() is self.drain_task
        self.delivered.append((message.offset, "direct" if direct else "wait_first"))

    async def wait_first(self, *coros: Any) -> None:
        first, *rest = coros
        for coro in rest:
            coro.close()
        await asyncio.ensure_future(first)  # a task of its own, as mode's wait_first makes

    async def sleep(self, _s: float) -> None:
        await asyncio.sleep(0)

    async def _add_gap(self, *_a: Any) -> None:
        pass


def drained(drain: Drain) -> list[tuple[int, str]]:
    async def run() -> None:
        drain.drain_task = asyncio.current_task()
        await _direct_drain_messages(drain, drain.fetcher)

    asyncio.run(run())
    return drain.delivered


def test_stage_records_go_straight_to_the_conductor_in_order() -> None:
    assert drained(Drain([(STAGE_TP, n) for n in range(250)])) == [
        (n, "direct") for n in range(250)]


@pytest.mark.parametrize("kind", ["rebalance", "producer buffer over Faust's limit"])
def test_a_callback_that_could_wait_goes_faust_way(kind: str) -> None:
    drain = (Drain([(STAGE_TP, 0)], suspended=True) if kind == "rebalance"
             else Drain([(STAGE_TP, 0)], buffered=101))
    assert drained(drain) == [(0, "wait_first")]


def test_a_record_with_readers_other_than_stages_goes_faust_way() -> None:
    # A table's changelog in recovery: its queue is Faust's own, which waits when full.
    assert drained(Drain([(CHANGELOG_TP, 0), (STAGE_TP, 0)])) == [
        (0, "wait_first"), (0, "direct")]


def test_a_record_below_the_read_offset_is_not_delivered_again() -> None:
    assert drained(Drain([(STAGE_TP, 5), (STAGE_TP, 3), (STAGE_TP, 6)])) == [
        (5, "direct"), (6, "direct")]


class SlowCommitter:
    """A consumer whose commit takes as long as the test says (a wait for table writes)."""

    def __init__(self, fail: bool = False) -> None:
        self._commit_fut = None
        self.started = 0
        self.release = asyncio.Event()
        self.fail = fail

    async def commit(self) -> bool:
        self.started += 1
        await self.release.wait()
        if self.fail:
            raise ConnectionError("broker gone")
        return True


async def test_a_commit_every_n_acknowledgements_runs_beside_the_delivery_one_at_a_time() -> None:
    consumer = SlowCommitter()
    drain.commit_beside(consumer)  # returns at once: the loop goes on delivering
    drain.commit_beside(consumer)  # one is running: it covers these acknowledgements too
    await asyncio.sleep(0)
    assert consumer.started == 1
    consumer.release.set()
    while drain._commits:
        await asyncio.sleep(0)
    drain.commit_beside(consumer)  # the next one starts once the first has ended
    await asyncio.sleep(0)
    assert consumer.started == 2
    while drain._commits:
        await asyncio.sleep(0)


async def test_a_failed_commit_beside_the_delivery_is_logged_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    consumer = SlowCommitter(fail=True)
    consumer.release.set()
    drain.commit_beside(consumer)
    while drain._commits:
        await asyncio.sleep(0)
    assert "a commit beside the delivery failed (ConnectionError)" in caplog.text
