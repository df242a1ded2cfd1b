"""Every record of a partition reaches the stages in offset order from where the consumer
sought, with none left out.

After a rebalance Faust seeks each partition back to its committed offset while its fetcher
may still hand over a batch fetched before the seek (the fetch and the seek queue on the
consumer's thread; the batch reaches the drain after the seek has returned). Faust's drain
(faust 0.15 `Consumer._drain_messages`) then takes the jump from the committed offset to that
batch's first offset for a gap in the log and marks the offsets between as acknowledged
(`_add_gap`, so they are committed), delivers the stale batch, and drops the records the seek
fetches again as already read. Seen with two workers, one killed: the survivor's sender never
decided touches of its own partition (offsets 153..155 of the send requests marked as a gap,
152 dropped) while later touches of the same persons were sent.

Faust also resumes the partitions before that seek, and the seek waits on one round trip per
partition: records flow meanwhile from the consumer's own position, and Faust clears the
agents' queues when it resumes the flow right after the seek (mode's `FlowControlEvent.resume`).
An agent still busy with its first batch (the sender and the sequencer wait for the campaign
view) loses what was queued for it, while the agents that took those records acknowledge them.
Faust fetches them again only where it seeks, a partition with a committed offset above 0;
elsewhere they were gone (seen in a restarted worker's log: records delivered during the seek
acknowledged by the sink and never by the sender, on a partition without a commit, and Faust
commits past them: it checks nothing where no committed offset is known). So every partition that
delivered before the seek is sought back to its base (the committed offset, else its first
record) at the seek and again right after the clear.

Here each partition has the offset it must deliver next (set by a seek, advanced by each
record delivered). A record below it was delivered or committed already and is passed over; a
record above it means records were left out: the partition is sought back to the expected
offset and the rest of that batch of the partition is passed over (three times at most for one
offset: a record the client cannot read is skipped by it whatever the position). On a broker
without transactions the hub's delete-policy topics have no gaps of their own; with
`exactly_once` (transaction markers leave gaps), for changelogs and for the compacted topics
of topics.yaml (a compacted log has gaps by design) Faust's own handling stays.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from faust.transport.consumer import Consumer
from mode.utils.queues import FlowControlEvent

from streams.kernel import metrics

log = logging.getLogger(__name__)

_getmany = Consumer.getmany
_perform_seek = Consumer.perform_seek
_seek = Consumer.seek
_revoked = Consumer.on_partitions_revoked
_resume = FlowControlEvent.resume


RESEEKS = 3
# Topics whose logs have gaps of their own (compaction): Faust's gap handling stays for them.
_compacted: frozenset[str] = frozenset()


def _again(consumer: Any, tp: Any, want: int) -> int:
    """How many times this partition was sent back to `want` (a new offset restarts it)."""
    last: dict[Any, tuple[int, int]] | None = getattr(consumer, "_outreach_reseeks", None)
    if last is None:
        last = consumer._outreach_reseeks = {}
    offset, n = last.get(tp, (want, 0))
    n = n + 1 if offset == want else 1
    last[tp] = (want, n)
    return n


def _next(consumer: Any) -> dict[Any, int | None]:
    nxt: dict[Any, int | None] | None = getattr(consumer, "_outreach_next", None)
    if nxt is None:
        nxt = consumer._outreach_next = {}
    return nxt


def _resumed(consumer: Any) -> dict[Any, int | None]:
    """Where each sought partition resumed (None: no committed offset, its first record says);
    a partition not in it was not sought yet in this assignment (kernel/commit_guard.py)."""
    resumed: dict[Any, int | None] | None = getattr(consumer, "_outreach_resumed", None)
    if resumed is None:
        resumed = consumer._outreach_resumed = {}
    return resumed


def resumed_at(consumer: Any, tp: Any) -> int | None:
    return _resumed(consumer).get(tp)


def guarded_topic(topic: str) -> bool:
    """A topic whose log has no gaps of its own, so its offsets are checked here."""
    return topic not in _compacted


def _first(consumer: Any) -> dict[Any, int]:
    """The first offset each partition delivered in this assignment before it was sought."""
    first: dict[Any, int] | None = getattr(consumer, "_outreach_first", None)
    if first is None:
        first = consumer._outreach_first = {}
    return first


async def _guarded_perform_seek(self: Any) -> None:
    await _perform_seek(self)
    nxt, resumed, first, again = _next(self), _resumed(self), _first(self), []
    for tp in self.assignment():
        if self._is_changelog_tp(tp) or tp.topic in _compacted:
            continue
        committed = self._read_offset.get(tp)  # the committed offset, None if none
        pre = first.pop(tp, None)
        base = committed if committed is not None else pre
        if pre is not None and base is not None:
            # Faust resumed this partition before the seek, and clears the agents' queues
            # when it resumes the flow after it (FlowControlEvent.resume): what it delivered
            # meanwhile and an agent had not taken yet is dropped, and Faust seeks only a
            # partition with a committed offset above 0. Fetched again from its base now, and
            # once more right after that clear (`_refetch`).
            _pending(self)[tp] = base
            _seek_now(self, tp, base)
            again.append(f"{tp.topic}[{tp.partition}] from {base}")
        nxt[tp] = resumed[tp] = base
    if again:
        log.info("fetching again what the partitions delivered before the seek to the committed "
                 "offsets: %s", ", ".join(sorted(again)))


def _pending(consumer: Any) -> dict[Any, int]:
    pending: dict[Any, int] | None = getattr(consumer, "_outreach_pending", None)
    if pending is None:
        pending = consumer._outreach_pending = {}
    return pending


def _seek_now(consumer: Any, tp: Any, offset: int) -> None:
    """Seek without yielding to the event loop (Faust's `seek` is a coroutine)."""
    consumer._thread.seek(tp, offset)
    consumer._read_offset[tp] = offset if offset else None
    _next(consumer)[tp] = offset


def _refetch(app: Any) -> None:
    """After the flow resumed (queues cleared): fetch the partitions pending a refetch again."""
    consumer: Any = getattr(app, "_consumer", None)
    pending = getattr(consumer, "_outreach_pending", None)
    if consumer is None or not pending:
        return
    assigned = consumer.assignment()
    for tp, offset in list(pending.items()):
        if tp in assigned:
            _seek_now(consumer, tp, offset)
    pending.clear()


async def _guarded_seek(self: Any, partition: Any, offset: int) -> None:
    await _seek(self, partition, offset)
    _next(self)[partition] = offset


async def _guarded_revoked(self: Any, revoked: Any) -> None:
    nxt = _next(self)
    resumed, first, pending = _resumed(self), _first(self), _pending(self)
    for tp in revoked:
        nxt.pop(tp, None)
        resumed.pop(tp, None)
        first.pop(tp, None)
        pending.pop(tp, None)
    await _revoked(self, revoked)


async def _guarded_getmany(self: Any, timeout: float) -> AsyncIterator[tuple[Any, Any]]:
    if self.app.in_transaction:
        async for item in _getmany(self, timeout):
            yield item
        return
    nxt, resumed, first, sought = _next(self), _resumed(self), _first(self), set()
    async for tp, message in _getmany(self, timeout):
        if tp in sought:
            continue
        if self._is_changelog_tp(tp) or tp.topic in _compacted:
            yield tp, message
            continue
        want = nxt.get(tp)
        if want is not None and message.offset > want and _again(self, tp, want) > RESEEKS:
            # Fetched from `want` three times and still past it: the log itself has no
            # records there (an unreadable one the client skips); go on as Faust would.
            log.warning("%s[%d]: offsets %d..%d are not in the log; going on", tp.topic,
                        tp.partition, want, message.offset - 1)
            # The commit may pass them (kernel/commit_guard.py accepts a gap from its base).
            self._gap[tp].addi(want, message.offset)
            want = None
        if want is None or message.offset == want:
            nxt[tp] = message.offset + 1
            if tp not in resumed:
                first.setdefault(tp, message.offset)  # before the seek (see perform_seek)
            elif want is None and resumed[tp] is None:
                resumed[tp] = message.offset  # no committed offset: it resumed here
            yield tp, message
        elif message.offset > want:
            sought.add(tp)
            metrics.FETCH_RESEEKS.inc()
            log.info("%s[%d]: offset %d arrived where %d was next (fetched before a seek); "
                     "fetching from %d again", tp.topic, tp.partition, message.offset, want,
                     want)
            await self.seek(tp, want)


def install(compacted: frozenset[str] = frozenset(), app: Any = None) -> None:
    """Guard every Faust consumer of this process; `compacted`: the topics left to Faust;
    `app`: whose flow control's resume clears the agents' queues."""
    global _compacted
    _compacted = compacted
    if app is not None:
        def resume_then_refetch(self: FlowControlEvent) -> None:
            _resume(self)
            _refetch(app)

        FlowControlEvent.resume = resume_then_refetch  # type: ignore[method-assign]
    Consumer.getmany = _guarded_getmany  # type: ignore[method-assign]
    Consumer.perform_seek = _guarded_perform_seek  # type: ignore[method-assign]
    Consumer.seek = _guarded_seek  # type: ignore[method-assign]
    Consumer.on_partitions_revoked = _guarded_revoked  # type: ignore[method-assign]
