"""A record a stage never decided is never acknowledged, so its offset is never committed.

During a rebalance Faust suspends the flow and clears the agents' queues; a record reaching a
stream while the flow is suspended, or fetched under the previous generation, is skipped, and
Faust acknowledges the skipped record (faust 0.15 `Stream._py_aiter`) as if it had been
processed. The partition's committed offset was dropped when the rebalance began, so the next
commit (Faust commits while it waits for the streams to empty) takes the skipped record's
offset as the new position: every record cleared from the queues before it is committed
without having been decided. Seen as touches a sender never decided after one of two workers
was killed, while later touches of the same persons were sent.

Here an acknowledgement counts only when it comes from a stage's batch loop
(`streams/kernel/loop.py` marks its task), or when the flow is running and the record belongs
to the current generation. A refused one leaves the record unacknowledged: the consumer seeks
back to the committed offset when the rebalance ends and delivers it again (every effect of the
hub is idempotent).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from faust.types.tuples import ConsumerMessage

from streams.kernel import metrics

log = logging.getLogger(__name__)

# True in a stage's batch loop task (not in the stream's background drainer, which is where
# Faust skips and acknowledges records during a rebalance).
DECIDING: ContextVar[bool] = ContextVar("outreach_deciding", default=False)

_app: Any = None
_batches_in_progress = 0


def carrying_out() -> None:
    global _batches_in_progress
    _batches_in_progress += 1


def carried_out() -> None:
    global _batches_in_progress
    _batches_in_progress -= 1


def batches_in_progress() -> int:
    """Batches a stage's loop has taken and not finished: the records a rebalance waits for."""
    return _batches_in_progress


def skipped(message: Any, app: Any) -> bool:
    """What Faust skips: the flow suspended (a rebalance) or a record of an older generation."""
    return (not app.flow_control.is_active()
            or message.generation_id != app.consumer_generation_id)


def _guarded_ack(self: Any, consumer: Any, n: int = 1) -> bool:
    app = _app
    if app is not None and not DECIDING.get() and skipped(self, app):
        metrics.SKIPPED_ACKS_REFUSED.inc()
        log.info("not acknowledging %s[%s]@%s, skipped during a rebalance", self.topic,
                  self.partition, self.offset)
        return False
    return bool(_original_ack(self, consumer, n))


_original_ack = ConsumerMessage.ack


def install(app: Any) -> None:
    """Guard every consumed record's acknowledgement for this process's app."""
    global _app
    _app = app
    ConsumerMessage.ack = _guarded_ack  # type: ignore[method-assign]
