"""A worker told to stop is gone within a bound, whatever it is doing.

Faust stops a worker by first waiting until every record its streams took is acknowledged
(`stream_wait_empty`). A record delivered to two agents (the sink shares its topics with the
sequencer and the sender) and dropped from one agent's queue when the consumer pauses stays
unacknowledged for ever, so a stop under load waited minutes. Turning the wait off is no cure:
Faust then cancels the agents and commits the offsets of the records they were still working on
(measured with a slow agent: the batch in progress was committed and never processed).

So the stop here is in two parts. `drain_then_stop_committing` replaces Faust's wait when the app
stops: it waits while records are still being acknowledged, stops waiting once none has been for
`DRAIN_IDLE_S`, commits what was acknowledged, and from then on commits nothing; Faust's stop
goes on (agents cancelled, group left, producer flushed). And a watchdog thread, armed by the
first SIGTERM / SIGINT (or any other stop), ends the process with `os._exit` when the bound has
passed, whatever still runs; a second signal ends it at once. Either way nothing unfinished is
committed: those records are delivered again on restart, and every effect of the hub is
idempotent (derived event ids, ON CONFLICT, emits acknowledged before state writes), exactly as
after a crash.

A rebalance waits the same way (Faust's wait there has the same flaw: a surviving worker stayed
out of its group for minutes), except that the batches the stages are carrying out are known
(kernel/ack_guard.py) and always waited for.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from streams.kernel import ack_guard

log = logging.getLogger(__name__)

# Records still being acknowledged: wait. None for this long: what is left is stuck or slow,
# and stopping without it only means it is processed again after the restart.
DRAIN_IDLE_S = 2.0
# In a rebalance the batches in progress are known and waited for; the idle span only covers a
# batch a stream has taken and is about to hand to its stage.
REBALANCE_IDLE_S = 0.5

# sysexits' EX_TEMPFAIL: the worker stopped without finishing; a restart redoes what was left.
EXIT_STOP_TIMEOUT = 75

# Stopped before a forced exit: os._exit skips every `finally`, and the embedded broker and
# PostgreSQL run in processes of their own that would outlive the hub.
_last_rites: list[Callable[[], None]] = []
_LAST_RITES_BOUND_S = 10.0


@contextmanager
def before_a_forced_exit(*callbacks: Callable[[], None]) -> Iterator[None]:
    _last_rites.extend(callbacks)
    try:
        yield
    finally:
        for callback in callbacks:
            _last_rites.remove(callback)


class StopWatchdog:
    """Arm once when stopping begins; disarm when the worker has stopped by itself."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def arm(self, why: str) -> None:
        with self._lock:
            if self._timer is not None:
                return
            self._timer = threading.Timer(self.timeout_s, self._give_up, (why,))
            self._timer.daemon = True
            self._timer.start()

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def disarm(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()

    def give_up_now(self, why: str) -> None:
        self._exit(f"error: {why}; stopping now, without waiting for work in progress "
                   "(records not yet committed are delivered again on restart)")

    def _give_up(self, why: str) -> None:
        self._exit(f"error: the worker did not stop within {self.timeout_s:g} s of {why}; "
                   "stopping now (records not yet committed are delivered again on restart)")

    @staticmethod
    def _exit(line: str) -> None:
        # os.write, not logging or print: the stuck main thread may hold their locks.
        os.write(2, line.encode() + b"\n")
        rites = threading.Thread(target=_run_last_rites, daemon=True)
        rites.start()
        rites.join(_LAST_RITES_BOUND_S)
        os._exit(EXIT_STOP_TIMEOUT)


def _run_last_rites() -> None:
    for callback in list(_last_rites):
        try:
            callback()
        except Exception as exc:  # one failing must not keep the others from running
            os.write(2, f"stopping: {type(exc).__name__} in {callback!r}\n".encode())


def drain_then_stop_committing(app: Any, idle_s: float = DRAIN_IDLE_S) -> None:
    """Install the bounded drain in place of Faust's `App._consumer_wait_empty` (faust 0.15),
    for a stop and for a rebalance."""

    async def drain(consumer: Any, logger: Any) -> None:
        if not app.should_stop:
            # A rebalance: Faust's own wait never ends while a record delivered to two agents
            # was cleared from one agent's queue (seen: a surviving worker stuck for minutes,
            # out of the group, sending nothing). Wait for the batches the stages are carrying
            # out; what is left is not committed and is delivered again after the seek.
            left = await _settle(consumer, REBALANCE_IDLE_S, ack_guard.batches_in_progress)
            if left:
                log.info("rebalancing with %d record(s) taken but not decided: they are "
                         "delivered again", left)
            return
        left = await _settle(consumer, idle_s, lambda: 0)
        if left:
            log.info("stopping with %d record(s) taken but not finished: they are delivered "
                     "again on restart", left)
        # Cancelling the agents next acknowledges what they were working on; a commit after
        # this point would skip those records.
        consumer.commit = consumer.force_commit = _no_commit

    app._consumer_wait_empty = drain


async def _settle(consumer: Any, idle_s: float, busy: Callable[[], int]) -> int:
    """Commit what is acknowledged while records still are; stop once none has been for
    `idle_s` and no stage is carrying out a batch. Returns the records left unacknowledged."""
    loop = asyncio.get_running_loop()
    left, quiet_since = -1, loop.time()
    while True:
        consumer._clean_unacked_messages()
        if len(consumer._unacked_messages) != left:
            left, quiet_since = len(consumer._unacked_messages), loop.time()
        if not left or (not busy() and loop.time() - quiet_since >= idle_s):
            break
        await consumer.commit()
        await asyncio.sleep(0.1)
    await consumer.commit()
    return left


async def _no_commit(*args: Any, **kwargs: Any) -> bool:
    return False
