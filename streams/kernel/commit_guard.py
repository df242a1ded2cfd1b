"""A partition's offset is committed only over records that were all acknowledged, counted from
where it resumed.

Faust (0.15 `Consumer._new_offset`) commits the first run of consecutive acknowledged offsets,
and checks that run against the committed offset in a way that lets records through:

- the committed offset is the next record to read, but Faust holds back only when the run
  starts more than one past it: with 10 committed and 11.. acknowledged, it commits past 10,
  which no stage acknowledged (a record whose acknowledgement kernel/ack_guard.py refused, or
  one still being decided);
- with no committed offset known (a partition never committed, one whose committed offset is
  0, after a revocation, and before the first seek of an assignment, while the consumer already
  delivers from its own position) there is no check at all: any run is committed, whatever lies
  before it.

Either way a SIGKILL after that commit loses the records in between: the restarted worker
resumes past them. Here the run must start exactly at the partition's base: the committed offset
when one is known, else the offset the partition resumed from (kernel/fetch_guard.py records it
at the seek; nothing is committed before the seek). Otherwise nothing is committed for the
partition until the missing records are acknowledged, or it is sought and they come again.
Changelogs, compacted topics and `exactly_once` keep Faust's own rule (their logs have gaps by
design, kernel/fetch_guard.py leaves them to Faust too).

And a commit waits until the broker has the changelog record of every table write made before
it (kernel/changelog.py): the records it covers were carried out, their states written, but
Faust sends those writes from its producer buffer later, and a worker killed between the commit
and the send lost them while their input was committed. If the broker has not taken them within
`WRITES_WITHIN_S`, nothing is committed this time; the next commit waits for them again.
Faust takes the acknowledgements a commit covers out of its books as it computes the offset,
before the commit is made: a commit held back here gives them back (`give_back`), or the
partition's next run would start past its base and nothing of it would be committed again
(seen over 100,000 leads with two replicas: one held commit, then the lag of a dozen
partitions grew for the rest of the run).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faust.transport.consumer import Consumer

from streams.kernel import changelog, fetch_guard, metrics

log = logging.getLogger(__name__)

WRITES_WITHIN_S = 5.0

_new_offset = Consumer._new_offset
_commit_offsets = Consumer._commit_offsets


def base_of(consumer: Any, tp: Any) -> int | None:
    """The first offset a commit of `tp` must cover; None: not known (nothing is committed)."""
    committed = consumer._committed_offset.get(tp)
    if committed is not None:
        return int(committed)
    return fetch_guard.resumed_at(consumer, tp)


def _run_start(consumer: Any, tp: Any) -> int | None:
    """Where the run of acknowledged offsets Faust's `_new_offset` takes begins: the lowest
    acknowledged offset, or a gap's first offset below it (Faust counts gaps as acknowledged)."""
    acked = consumer._acked.get(tp)
    if not acked:
        return None
    return min([min(acked), *(gap.begin for gap in consumer._gap.get(tp) or ())])


def _taken(consumer: Any, tp: Any) -> int | None:
    """Faust's `_new_offset`, which takes the run it commits out of `_acked`; the run is noted,
    so a commit held back can give it back."""
    start = _run_start(consumer, tp)
    offset = _new_offset(consumer, tp)
    if offset is not None and start is not None:
        consumer.__dict__.setdefault("_outreach_taken", {})[tp] = (start, offset)
    return offset


def give_back(consumer: Any, offsets: Mapping[Any, int]) -> None:
    """The acknowledgements `_new_offset` took for `offsets`, back in Faust's books: those
    offsets were not committed, and the next commit must find its run starting at the base."""
    taken: dict[Any, tuple[int, int]] = consumer.__dict__.get("_outreach_taken", {})
    if not taken:
        return
    assigned = consumer.assignment()
    for tp, offset in offsets.items():
        run = taken.pop(tp, None)
        if run is None or run[1] != offset or tp not in assigned:
            continue  # revoked meanwhile: Faust dropped its books of the partition
        index = consumer._acked_index[tp]
        back = [o for o in range(run[0], offset) if o not in index]
        acked = consumer._acked[tp]
        acked.extend(back)
        acked.sort()
        index.update(back)


def _guarded_new_offset(self: Any, tp: Any) -> int | None:
    if (self.app.in_transaction or self._is_changelog_tp(tp)
            or not fetch_guard.guarded_topic(tp.topic)):
        return _taken(self, tp)
    acked = self._acked.get(tp)
    if not acked:
        return None
    base = base_of(self, tp)
    first = min(acked)
    if base is not None and any(gap.begin == base for gap in self._gap.get(tp) or ()):
        first = base  # offsets the fetch guard found missing from the log (they never come)
    if base is None or first > base:
        held: dict[Any, Any] = self.__dict__.setdefault("_outreach_held", {})
        if held.get(tp) != (base, first):
            held[tp] = (base, first)
            metrics.COMMITS_HELD.inc()
            log.info("%s[%d]: not committing past offset %s: acknowledged from %d, records "
                     "before it are not", tp.topic, tp.partition, base, first)
        return None
    return _taken(self, tp)


CommitOffsets = Callable[..., Awaitable[bool]]


def after_table_writes(commit: CommitOffsets,
                       confirmed: Callable[[float, Any], Awaitable[bool]] = changelog.all_confirmed,
                       within: float = WRITES_WITHIN_S) -> CommitOffsets:
    """`commit` (Faust's `Consumer._commit_offsets`), once the table writes are acknowledged."""

    async def commit_after_writes(self: Any, offsets: Mapping[Any, int],
                                  start_new_transaction: bool = True) -> bool:
        if not self.app.in_transaction and not await confirmed(within, self.app):
            metrics.COMMITS_HELD.inc()
            log.warning("not committing: table writes unacknowledged after %.1fs; "
                        "the next commit waits for them again", within)
            give_back(self, offsets)
            return False
        return await commit(self, offsets, start_new_transaction=start_new_transaction)

    return commit_after_writes


def install() -> None:
    """Guard the commits of every Faust consumer of this process (after fetch_guard.install)."""
    Consumer._new_offset = _guarded_new_offset  # type: ignore[method-assign]
    Consumer._commit_offsets = after_table_writes(  # type: ignore[method-assign,assignment]
        _commit_offsets)
