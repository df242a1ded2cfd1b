"""The one interpreter of decisions, and the one broker-failure policy of every stage.

Broker-failure policy: when the broker refuses an emit, the kernel re-sends the same events
(same event ids: consumers dedupe) with backoff until the broker takes them, and only then
writes the tables and lets Faust commit the input. It never dead-letters an input because the
broker refused an output: the dead letter would go to the same refusing broker, and a record
whose emits were half-sent would be marked failed although its effects are partly out. While
the broker refuses, the stage waits (its lag grows, alerting sees it); nothing is lost and
nothing is skipped. Dead letters are for records the stage cannot read or decide (a decoding
or a core error), and those are emitted under the same policy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar, assert_never

from streams.contracts import codec
from streams.contracts.decision import (
    ConsumeCap,
    ConsumeQuota,
    Count,
    Effect,
    Emit,
    MarkInFlight,
    SetGauge,
)
from streams.kernel import changelog, metrics
from streams.kernel.caps import CapLedger
from streams.kernel.changelog import Recorded
from streams.kernel.hub import Hub
from streams.kernel.store import Decided, TableStore

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
T = TypeVar("T")


async def send_emits(hub: Hub, emits: Iterable[Emit]) -> list[Awaitable[Any]]:
    """Hand the emits to the producer; the returned futures resolve when the broker has them.

    Straight to the app's producer rather than through Faust's Topic.send: the keys are bytes
    and the values already encoded, so the channel machinery (a FutureMessage, a callback and a
    codec lookup per record) adds nothing but cost; bench/faust_floor.py measures the
    difference. The partition is the producer's murmur2 of the key either way.
    """
    # Started like Topic.send would (a no-op once running). Faust's on_send sensors are not
    # called on this path; the hub counts its emits itself (events_emitted_total).
    producer = await hub.app.maybe_start_producer()
    pending = []
    counted: dict[str, int] = {}
    for emit in emits:
        name = hub.catalog[emit.topic].name
        key = None if emit.key is None else emit.key.encode()
        pending.append(await producer.send(
            name, key, codec.dumps(emit.event), emit.partition, None, None))
        counted[emit.topic] = counted.get(emit.topic, 0) + 1
    for topic, n in counted.items():
        metrics.COUNTERS["events_emitted_total"].labels(topic=topic).inc(n)
    return pending


async def until_done(
    attempt: Callable[[], Awaitable[T]], failed: Callable[[Exception, float], None]
) -> T:
    """The policy of the module docstring for any carry-out step (the broker's acks, the
    sink's PostgreSQL write): `attempt` again with backoff until it succeeds; `failed(exc,
    delay)` logs and counts each refusal. The caller's input is acknowledged only after."""
    delay = 0.5
    while True:
        try:
            return await attempt()
        except Exception as exc:
            failed(exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)


async def until_accepted(
    hub: Hub, stage: str, acks: list[Awaitable[Any]], emitted: Sequence[Emit]
) -> None:
    """Wait until the broker has every emit, re-sending the same events while it refuses."""
    first: list[list[Awaitable[Any]]] = [acks]

    async def attempt() -> None:
        pending = first.pop() if first else await send_emits(hub, emitted)
        if pending:
            await asyncio.gather(*pending)

    def refused(exc: Exception, delay: float) -> None:
        log.error("%s: the broker refused emits (%s); re-sending in %.1fs",
                  stage, type(exc).__name__, delay)

    await until_done(attempt, refused)


async def carry_out(
    outcomes: Sequence[tuple[Any, Decided[Any]]], caps: CapLedger | None = None
) -> None:
    """Every effect of the batch's decisions, then their states (the emits are acknowledged).

    Counts are summed per batch (one counter update per label set), a gauge is set once per
    label set to its last value; caps spent are written once per counter and batch, a state
    once per key and batch; with a MarkInFlight, the call returns only once the states'
    changelog records are acknowledged, so the caller (the sender) goes on to the email
    provider with its in-flight marker already in the changelog.
    """
    counts: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    gauges: dict[tuple[str, tuple[tuple[str, str], ...]], SetGauge] = {}
    flush = False
    for event, decided in outcomes:
        for effect in decided.decision.effects:
            flush |= _collect(effect, event, counts, gauges, caps)
    for (metric, labels), amount in counts.items():
        metrics.apply(Count(metric, labels, amount))  # type: ignore[arg-type]
    for setting in gauges.values():
        metrics.set_gauge(setting)
    written = caps.commit() if caps is not None else []
    for event, store, key, before, after in _last_states(outcomes):
        recorded = store.write(event, key, before, after)
        if recorded is not None:
            written.append(recorded)
    if flush:
        await until_in_changelog(written)


def _last_states(
    outcomes: Sequence[tuple[Any, Decided[Any]]],
) -> list[tuple[Any, TableStore[Any], str, Any, Any]]:
    """Per key of a store: the batch's last state (under the event that decided it), and the
    state before the batch's first decision about it. The changelog needs only the last one,
    which compaction would keep anyway; a write per decision cost a dump and a changelog record
    each (a company's leads in one batch, a touch and its send report). The writes go out in
    the order of those last decisions, each decision's in the order it lists them: a record
    written after another was decided after it (the gate writes a lead's slot, then the company
    state that names it)."""
    first: dict[tuple[int, str], Any] = {}
    last: dict[tuple[int, str], tuple[Any, Decided[Any]]] = {}
    for event, decided in outcomes:
        if decided.store is not None:
            key = (id(decided.store), decided.key)
            first.setdefault(key, decided.before)
            last.pop(key, None)  # in the order of each key's last decision, not its first
            last[key] = (event, decided)
    return [(event, d.store, d.key, first[key], d.decision.state)
            for key, (event, d) in last.items() if d.store is not None]


async def until_in_changelog(written: Sequence[Recorded]) -> None:
    """Wait until the broker has these writes' changelog records, writing them again while it
    refuses.

    Only these records: waiting for Faust's whole producer buffer to empty, as an earlier
    version did, made each send wait for every other stage's table writes (~55 ms a send
    in a 30-minute soak, the sender's stall). The buffer sends in order, so whatever was
    written before these, an earlier state of the same key among them, is sent first."""
    first = [list(written)]

    async def attempt() -> None:
        pending = first.pop() if first else [changelog.write_again(r) for r in written]
        await asyncio.gather(*(r.sent for r in pending))

    def refused(exc: Exception, delay: float) -> None:
        log.error("the broker refused a changelog record (%s); writing it again in %.1fs",
                  type(exc).__name__, delay)

    await until_done(attempt, refused)


def _collect(effect: Effect, event: Any, counts: dict[Any, float], gauges: dict[Any, SetGauge],
             caps: CapLedger | None) -> bool:
    match effect:
        case Count():
            label = (effect.metric, effect.labels)
            counts[label] = counts.get(label, 0.0) + effect.amount
            return False
        case SetGauge():
            gauges[(effect.metric, effect.labels)] = effect
            return False
        case ConsumeCap() | ConsumeQuota():
            if caps is None:
                raise TypeError(f"a {type(effect).__name__} effect in a stage without a caps "
                                "ledger")
            caps.spent(event, effect)
            return False
        case MarkInFlight():
            return True
        case _:
            assert_never(effect)
