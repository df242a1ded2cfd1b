"""The one interpreter of decisions: sends the emits, applies the effects."""

from __future__ import annotations

import asyncio
from typing import Any

from agents.decision import Decision
from streams import codec, metrics
from streams.app import Hub


async def carry_out(hub: Hub, decision: Decision[Any]) -> None:
    """Emit every event and wait until the broker has them, then count.

    The caller writes its table only after this returns: on a crash in between, the input is
    redelivered and re-emits the same event_ids (sinks dedupe), instead of being lost.
    """
    pending = []
    for emit in decision.emits:
        topic = hub.topic(emit.topic)
        pending.append(await topic.send(key=emit.key.encode(), value=codec.dumps(emit.event)))
        metrics.COUNTERS["events_emitted_total"].labels(topic=emit.topic).inc()
    if pending:
        await asyncio.gather(*pending)
    for effect in decision.effects:
        metrics.apply(effect)
