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

A commit also waits until the broker has every table write made so far. A stage writes its
states into Faust's producer buffer (a table's `__setitem__` cannot await) before it
acknowledges the records that decided them, and Faust commits without waiting for that buffer:
a worker stopped or killed right after such a commit would resume past records whose states
never reached their changelogs. The offsets are chosen first and the buffer drained after, so
every write of a record the commit covers is in it; a record acknowledged meanwhile waits for
the next commit. Commits come every few seconds, so the wait costs the stages nothing (a flush
after each batch instead halved the gate's rate). A commit whose writes cannot be flushed (the
producer stopping) commits nothing: those records are delivered again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from faust.exceptions import ProducerSendError
from faust.transport.consumer import Consumer

from streams.kernel import fetch_guard, metrics
from streams.kernel.interpreter import flush_changelog

log = logging.getLogger(__name__)

# A commit's flush takes milliseconds; one that cannot finish (a broker refusing writes) must
# not hold the commit task: the commit is skipped and the records stay uncommitted.
FLUSH_BOUND_S = 10.0

_new_offset = Consumer._new_offset


def base_of(consumer: Any, tp: Any) -> int | None:
    """The first offset a commit of `tp` must cover; None: not known (nothing is committed)."""
    committed = consumer._committed_offset.get(tp)
    if committed is not None:
        return int(committed)
    return fetch_guard.resumed_at(consumer, tp)


def _guarded_new_offset(self: Any, tp: Any) -> int | None:
    if (self.app.in_transaction or self._is_changelog_tp(tp)
            or not fetch_guard.guarded_topic(tp.topic)):
        return _new_offset(self, tp)
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
    return _new_offset(self, tp)


async def _durable_commit_tps(self: Any, tps: Any, start_new_transaction: bool) -> bool:
    # faust 0.15 Consumer._commit_tps, with the table writes flushed between the choice of the
    # offsets and their commit.
    commit_offsets = self._filter_committable_offsets(tps)
    if not commit_offsets:
        return False
    try:
        await self._handle_attached(commit_offsets)
    except ProducerSendError as exc:
        await self.crash(exc)
        return False
    started = time.perf_counter()
    try:
        await asyncio.wait_for(flush_changelog(self.app.producer), FLUSH_BOUND_S)
    except RuntimeError as exc:  # the producer is stopping: commit nothing, the records come again
        log.warning("not committing: table writes could not be flushed (%s)", exc)
        return False
    except TimeoutError:
        log.warning("not committing: table writes not flushed within %.0f s (the next commit "
                    "tries again)", FLUSH_BOUND_S)
        return False
    finally:
        metrics.COMMIT_FLUSH_SECONDS.observe(time.perf_counter() - started)
    return bool(await self._commit_offsets(commit_offsets,
                                           start_new_transaction=start_new_transaction))


def install() -> None:
    """Guard the commits of every Faust consumer of this process (after fetch_guard.install)."""
    Consumer._new_offset = _guarded_new_offset  # type: ignore[method-assign]
    Consumer._commit_tps = _durable_commit_tps  # type: ignore[method-assign]
