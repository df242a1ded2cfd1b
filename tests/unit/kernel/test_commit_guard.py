"""A partition's offset is committed only over acknowledged records, counted from where it
resumed: Faust alone commits past an unacknowledged record at the committed offset, and commits
anything while no committed offset is known (before the seek, after a revocation)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from intervaltree import IntervalTree

from streams.kernel import commit_guard

REQUESTS = TP("outreach.send.requests", 0)
CHANGELOG = TP("hub-sender-people-changelog", 0)


class FakeConsumer:
    """The bookkeeping Faust's `_new_offset` reads, as a consumer keeps it."""

    def __init__(self, acked: Iterable[int], committed: int | None = None,
                 resumed: dict[TP, int | None] | None = None, tp: TP = REQUESTS) -> None:
        self.app = SimpleNamespace(in_transaction=False)
        self._acked: defaultdict[TP, list[int]] = defaultdict(list, {tp: list(acked)})
        self._acked_index: defaultdict[TP, set[int]] = defaultdict(set, {tp: set(acked)})
        self._gap: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)
        self._committed_offset: defaultdict[TP, int | None] = defaultdict(lambda: None)
        if committed is not None:
            self._committed_offset[tp] = committed
        self._outreach_resumed = dict(resumed or {})

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp == CHANGELOG

    def assignment(self) -> set[TP]:
        return {REQUESTS, CHANGELOG}

    def ack(self, *offsets: int, tp: TP = REQUESTS) -> None:
        self._acked[tp].extend(offsets)
        self._acked_index[tp].update(offsets)


def commit_offset(consumer: FakeConsumer, tp: TP = REQUESTS) -> int | None:
    return commit_guard._guarded_new_offset(consumer, tp)


def test_faust_alone_commits_past_the_unacknowledged_record_at_the_committed_offset() -> None:
    # The defect guarded here: 10 is the next record to read and nobody acknowledged it.
    faust: Any = FakeConsumer([11, 12, 13], committed=10)
    assert commit_guard._new_offset(faust, REQUESTS) == 14  # Faust's own, guard installed or not


def test_the_record_at_the_committed_offset_holds_the_commit_until_acknowledged() -> None:
    consumer = FakeConsumer([11, 12, 13], committed=10)
    assert commit_offset(consumer) is None
    consumer._acked[REQUESTS].append(10)
    consumer._acked_index[REQUESTS].add(10)
    assert commit_offset(consumer) == 14


def test_nothing_is_committed_before_the_partition_was_sought() -> None:
    # Faust resumes the partitions before it seeks them to the committed offsets: what the
    # stages acknowledged meanwhile came from the consumer's own position.
    consumer = FakeConsumer([20, 21, 22])
    assert commit_offset(consumer) is None
    faust: Any = FakeConsumer([20, 21, 22])
    assert commit_guard._new_offset(faust, REQUESTS) == 23  # Faust commits it, whatever lay before


@pytest.mark.parametrize(("acked", "offset"), [([1, 2], None), ([0, 1, 2], 3)])
def test_a_partition_never_committed_commits_from_where_it_resumed(
        acked: list[int], offset: int | None) -> None:
    consumer = FakeConsumer(acked, resumed={REQUESTS: 0})
    assert commit_offset(consumer) == offset


def test_a_partition_sought_to_offset_0_counts_from_0() -> None:
    # Faust keeps a committed offset of 0 as "none", and then checks nothing.
    consumer = FakeConsumer([3, 4], committed=None, resumed={REQUESTS: 0})
    assert commit_offset(consumer) is None


def test_offsets_the_fetch_guard_found_missing_from_the_log_are_committed_past() -> None:
    consumer = FakeConsumer([14, 15], committed=10)
    consumer._gap[REQUESTS].addi(10, 14)
    assert commit_offset(consumer) == 16


def test_changelogs_keep_faust_own_rule() -> None:
    consumer = FakeConsumer([11, 12], committed=10, tp=CHANGELOG)
    assert commit_offset(consumer, CHANGELOG) == 13


async def unacknowledged_writes(_within: float, _app: Any) -> bool:
    return False


async def never_called(*_args: Any, **_kwargs: Any) -> bool:
    raise AssertionError("held commits reach Faust")


@pytest.mark.parametrize(("tp", "committed"), [(REQUESTS, 10), (CHANGELOG, 10)])
async def test_a_commit_held_for_table_writes_leaves_its_run_to_the_next_commit(
        tp: TP, committed: int) -> None:
    # Faust takes the run out of its books as it computes the offset; were it not given back,
    # the next run would start at 20, past the base, and the partition would never commit.
    consumer = FakeConsumer(range(10, 20), committed=committed, tp=tp)
    held = commit_guard.after_table_writes(never_called, confirmed=unacknowledged_writes,
                                           within=0)
    assert commit_offset(consumer, tp) == 20
    assert not await held(consumer, {tp: 20})
    consumer.ack(20, 21, tp=tp)
    assert commit_offset(consumer, tp) == 22


async def test_a_run_that_began_in_a_gap_is_given_back_whole() -> None:
    consumer = FakeConsumer([13, 14], committed=10)
    consumer._gap[REQUESTS].addi(10, 13)  # 10..12 never come (kernel/fetch_guard.py)
    assert commit_offset(consumer) == 15
    commit_guard.give_back(consumer, {REQUESTS: 15})
    assert commit_offset(consumer) == 15


def test_a_partition_revoked_meanwhile_gets_nothing_back() -> None:
    gone = TP("outreach.send.requests", 3)
    consumer = FakeConsumer([10, 11], committed=10, tp=gone)
    assert commit_offset(consumer, gone) == 12
    commit_guard.give_back(consumer, {gone: 12})
    assert consumer._acked[gone] == []
