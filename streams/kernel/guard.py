"""Keep a stage running when one record breaks it: the record becomes a dead letter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from agents.dead_letter import dead_letter
from streams.contracts.ids import STABLE_IDS
from streams.contracts.records import SourceRef
from streams.kernel.hub import Hub
from streams.kernel.interpreter import carry_out

log = logging.getLogger(__name__)


async def dead_letter_on_error(
    hub: Hub, stage: str, event: Any, handle: Callable[[Any], Awaitable[None]]
) -> None:
    """Run `handle(event)`; if it raises, dead-letter the record with the reason and go on.

    Without this a Faust agent crashes on the record and its supervisor restarts it past the
    record: the record would be lost with nothing but a log line.
    """
    try:
        await handle(event)
    except Exception as exc:
        await dead_letter_now(hub, stage, event, exc)


async def dead_letter_now(hub: Hub, stage: str, event: Any, exc: Exception) -> None:
    """Dead-letter the record, retrying with backoff until the broker takes it: if this gave
    up, Faust would ack the record anyway and it would be lost without a trace."""
    msg = event.message
    source = SourceRef(msg.topic, msg.partition, msg.offset)
    log.error("%s failed on %s (%s); dead-lettered", stage, source, type(exc).__name__)
    letter = dead_letter(stage, event.value, source, exc, hub.clock.now(), STABLE_IDS)
    delay = 0.5
    while True:
        try:
            await carry_out(hub, letter)
            return
        except Exception as failure:
            log.error("dead letter for %s not accepted (%s); retrying in %.1fs", source,
                      type(failure).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
