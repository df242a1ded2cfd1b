"""Deciding a batch of events with one wait for the broker (the stateful stages' shell loop).

Waiting for the broker's acknowledgement before each table write keeps at-least-once honest
(a state is never stored ahead of the events it emitted) but costs a round trip per event. In
a batch: decide each event in order (a key met twice sees its own newer state), send every
emit, wait once, then write each state under its own event, so the table's changelog partition
is that event's partition as if it had been written inside the stream iteration.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from faust.streams import _current_event

from streams.contracts.decision import Count, Decision, Emit
from streams.kernel.guard import dead_letter_now
from streams.kernel.hub import Hub
from streams.kernel.interpreter import apply_counts, send_emits

log = logging.getLogger(__name__)

# decide_one(event, latest) -> [(key, state before, decision), ...] (one event may concern
# several keys of its partition, or none); `latest(key)` is the state an earlier event of this
# batch left, if any.
Outcome = tuple[str, Any, "Decision[Any]"]
DecideOne = Callable[[Any, Callable[[str], Any]], "Outcome | list[Outcome] | None"]
Store = Callable[[str, Any, "Decision[Any]"], None]


async def decide_in_batch(
    hub: Hub, stage: str, events: list[Any], decide_one: DecideOne, store: Store
) -> None:
    latest: dict[str, Any] = {}
    writes: list[tuple[Any, str, Any, Decision[Any]]] = []
    acks: list[Any] = []
    emitted: list[Emit] = []
    counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for event in events:
        try:
            outcome = decide_one(event, latest.get)
            outcomes = (
                [] if outcome is None else outcome if isinstance(outcome, list) else [outcome]
            )
            for _, _, decision in outcomes:
                acks += await send_emits(hub, decision.emits)
                emitted += decision.emits
        except Exception as exc:  # one bad record must not stop the batch
            await dead_letter_now(hub, stage, event, exc)
            continue
        for key, before, decision in outcomes:
            for effect in decision.effects:  # summed per batch: one counter update per label set
                if isinstance(effect, Count):
                    label = (effect.metric, effect.labels)
                    counts[label] = counts.get(label, 0.0) + effect.amount
            latest[key] = decision.state
            writes.append((event, key, before, decision))
    await _acknowledged(hub, stage, acks, emitted)
    apply_counts(Count(metric, labels, amount) for (metric, labels), amount in counts.items())
    for event, key, before, decision in writes:
        _current_event.set(weakref.ref(event))
        store(key, before, decision)


async def route_in_batch(
    hub: Hub, stage: str, events: list[Any], route_one: Callable[[Any], Sequence[Emit]]
) -> None:
    """The stateless stages (re-keying routers): each event's emits, one ack wait per batch.

    A record `route_one` rejects is dead-lettered alone; the batch's input is acknowledged
    only once the broker has every emit, so a crash re-routes (same event ids) rather than
    loses.
    """
    acks: list[Any] = []
    emitted: list[Emit] = []
    for event in events:
        try:
            emits = route_one(event)
            acks += await send_emits(hub, emits)
            emitted += emits
        except Exception as exc:
            await dead_letter_now(hub, stage, event, exc)
    await _acknowledged(hub, stage, acks, emitted)


async def _acknowledged(hub: Hub, stage: str, acks: list[Any], emitted: list[Emit]) -> None:
    """Wait until the broker has every emit of the batch, re-sending (same event ids, so
    consumers dedupe) with backoff while it refuses. Giving up here would let Faust ack the
    batch's input with its states unwritten: the records would be lost."""
    delay = 0.5
    while True:
        try:
            if acks:
                await asyncio.gather(*acks)
            return
        except Exception as exc:
            log.error(
                "%s: the broker refused a batch's emits (%s); re-sending in %.1fs",
                stage,
                type(exc).__name__,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            acks = await send_emits(hub, emitted)
