"""Records reach the stages in offset order from where the consumer sought: a batch fetched
before a seek neither skips records (Faust's drain would mark them a gap and commit them) nor
delivers what was delivered already."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from intervaltree import IntervalTree

from streams.kernel import fetch_guard

REQUESTS = TP("outreach.send.requests", 0)
CHANGELOG = TP("hub-sender-people-changelog", 0)


class FakeConsumer:
    """The consumer's state the guard reads: the fetched batch stands for Faust's getmany."""

    def __init__(self, batch: list[tuple[TP, int]], nxt: dict[TP, int | None]) -> None:
        self.app = SimpleNamespace(in_transaction=False)
        self.batch = batch
        self._outreach_next = dict(nxt)
        self.sought: list[tuple[TP, int]] = []
        self._gap: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp == CHANGELOG

    async def seek(self, tp: TP, offset: int) -> None:
        self.sought.append((tp, offset))
        self._outreach_next[tp] = offset


def delivered(consumer: FakeConsumer) -> list[tuple[TP, int]]:
    async def fetched(self: Any, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        for tp, offset in self.batch:
            yield tp, SimpleNamespace(offset=offset)

    async def drain() -> list[tuple[TP, int]]:
        return [(tp, m.offset) async for tp, m in fetch_guard._guarded_getmany(consumer, 1.0)]

    original, fetch_guard._getmany = fetch_guard._getmany, fetched
    try:
        return asyncio.run(drain())
    finally:
        fetch_guard._getmany = original


def test_a_batch_fetched_before_the_seek_is_fetched_again_from_the_committed_offset() -> None:
    # Sought back to 152 (committed); the batch fetched before the seek starts at 156.
    consumer = FakeConsumer([(REQUESTS, 156), (REQUESTS, 157)], {REQUESTS: 152})
    assert delivered(consumer) == []
    assert consumer.sought == [(REQUESTS, 152)]


def test_records_in_order_flow_and_records_delivered_already_are_passed_over() -> None:
    consumer = FakeConsumer([(REQUESTS, n) for n in (150, 151, 152, 153, 154)], {REQUESTS: 152})
    assert delivered(consumer) == [(REQUESTS, 152), (REQUESTS, 153), (REQUESTS, 154)]
    assert consumer.sought == [] and consumer._outreach_next[REQUESTS] == 155


@pytest.mark.parametrize("start", [None, 0])
def test_a_partition_with_no_position_yet_takes_its_first_record(start: int | None) -> None:
    consumer = FakeConsumer([(REQUESTS, 0), (REQUESTS, 1)], {} if start is None else
                            {REQUESTS: start})
    assert delivered(consumer) == [(REQUESTS, 0), (REQUESTS, 1)]


def test_changelogs_keep_faust_handling_their_compaction_gaps() -> None:
    consumer = FakeConsumer([(CHANGELOG, 10), (CHANGELOG, 40)], {CHANGELOG: 3})
    assert delivered(consumer) == [(CHANGELOG, 10), (CHANGELOG, 40)]
    assert consumer.sought == []


def test_offsets_missing_from_the_log_are_gone_past_after_three_fetches() -> None:
    # A record the client skips (unreadable) leaves a gap no seek fills: no endless loop.
    consumer = FakeConsumer([(REQUESTS, 9)], {REQUESTS: 7})
    for _ in range(3):
        assert delivered(consumer) == []
    assert delivered(consumer) == [(REQUESTS, 9)]
    assert consumer.sought == [(REQUESTS, 7)] * 3
    assert [(g.begin, g.end) for g in consumer._gap[REQUESTS]] == [(7, 9)]  # may be committed


def test_a_compacted_topic_keeps_its_gaps_without_a_seek() -> None:
    # A compacted log has no records between 3 and 9 by design: nothing to fetch again.
    scores = TP("bit-engine.score.evaluated", 0)
    consumer = FakeConsumer([(scores, 9), (scores, 10)], {scores: 3})
    original, fetch_guard._compacted = fetch_guard._compacted, frozenset({scores.topic})
    try:
        assert delivered(consumer) == [(scores, 9), (scores, 10)]
    finally:
        fetch_guard._compacted = original
    assert consumer.sought == []


class SeekingConsumer(FakeConsumer):
    """A consumer Faust resumed before seeking it: the guard's perform_seek over Faust's."""

    def __init__(self, batch: list[tuple[TP, int]], committed: int | None) -> None:
        super().__init__(batch, {})
        self.committed = committed
        self._read_offset: dict[TP, int | None] = {}
        self._thread = SimpleNamespace(seek=lambda tp, offset: self.sought.append((tp, offset)))

    def assignment(self) -> set[TP]:
        return {REQUESTS}


def resume_after_seek(consumer: SeekingConsumer) -> None:
    async def faust_perform_seek(self: Any) -> None:
        # Faust seeks a partition only when its committed offset is above 0.
        self._read_offset[REQUESTS] = self.committed

    original, fetch_guard._perform_seek = fetch_guard._perform_seek, faust_perform_seek
    try:
        asyncio.run(fetch_guard._guarded_perform_seek(consumer))
    finally:
        fetch_guard._perform_seek = original


@pytest.mark.parametrize(("committed", "again_from"), [(None, 0), (0, 0), (5, 5)])
def test_records_delivered_before_the_seek_are_fetched_again_after_the_queues_are_cleared(
        committed: int | None, again_from: int) -> None:
    # Delivered while Faust sought (an agent still busy with its first batch had not taken
    # them); Faust then clears the agents' queues when it resumes the flow. Without a
    # committed offset Faust never seeks: they were gone for that agent, committed by the rest.
    start = committed or 0
    consumer = SeekingConsumer([(REQUESTS, start), (REQUESTS, start + 1)], committed)
    assert delivered(consumer) == [(REQUESTS, start), (REQUESTS, start + 1)]
    resume_after_seek(consumer)
    assert consumer.sought == [(REQUESTS, again_from)]
    fetch_guard._refetch(SimpleNamespace(_consumer=consumer))  # right after the clear
    assert consumer.sought == [(REQUESTS, again_from)] * 2
    assert consumer._outreach_next[REQUESTS] == again_from
    assert fetch_guard.resumed_at(consumer, REQUESTS) == again_from  # the commit's base
    fetch_guard._refetch(SimpleNamespace(_consumer=consumer))  # a later resume: nothing due
    assert len(consumer.sought) == 2


def test_a_partition_that_delivered_nothing_before_the_seek_is_not_fetched_again() -> None:
    consumer = SeekingConsumer([], None)
    assert delivered(consumer) == []
    resume_after_seek(consumer)
    fetch_guard._refetch(SimpleNamespace(_consumer=consumer))
    assert consumer.sought == []
