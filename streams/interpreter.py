"""The one interpreter of decisions: sends the emits, applies the effects."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from agents.decision import Count, Decision, Emit
from streams import codec, metrics
from streams.app import Hub


async def send_emits(hub: Hub, emits: Iterable[Emit]) -> list[Awaitable[Any]]:
    """Hand the emits to the producer; the returned futures resolve when the broker has them."""
    pending = []
    for emit in emits:
        topic = hub.topic(emit.topic)
        pending.append(await topic.send(key=emit.key.encode(), value=codec.dumps(emit.event)))
        metrics.COUNTERS["events_emitted_total"].labels(topic=emit.topic).inc()
    return pending


def apply_counts(effects: Iterable[object]) -> None:
    for effect in effects:
        if isinstance(effect, Count):
            metrics.apply(effect)


async def carry_out(hub: Hub, decision: Decision[Any]) -> None:
    """Emit every event and wait until the broker has them, then count.

    The caller writes its table only after this returns: on a crash in between, the input is
    redelivered and re-emits the same event_ids (sinks dedupe), instead of being lost.
    """
    pending = await send_emits(hub, decision.emits)
    if pending:
        await asyncio.gather(*pending)
    apply_counts(decision.effects)
