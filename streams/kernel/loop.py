"""The one decide-and-carry-out loop of every stage.

Waiting for the broker's acknowledgement before each table write keeps at-least-once honest
(a state is never stored ahead of the events it emitted) but costs a round trip per event. In
a batch: decide each event in order (a key met twice sees its own newer state), send every
emit, wait once, then write each state under its own event, so the table's changelog partition
is that event's partition as if it had been written inside the stream iteration.

A record the stage cannot read or decide becomes a dead letter, emitted with the batch; a
broker that refuses emits is waited out (streams/kernel/interpreter.py says why).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agents.dead_letter import dead_letter
from streams.contracts.decision import Decision, Effect, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.records import SourceRef
from streams.kernel import ack_guard, metrics
from streams.kernel.caps import CapLedger
from streams.kernel.changelog import with_event
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.interpreter import carry_out, send_emits, until_accepted
from streams.kernel.logging_setup import bind_record, decision_ids, ids_in, log_context, unbind
from streams.kernel.store import Decided

log = logging.getLogger(__name__)

Outcomes = Decided[Any] | Iterable[Decided[Any]] | None
# decide(item, event): the decoded record and its Faust event (partition, offset).
Decide = Callable[[Any, Any], Outcomes | Awaitable[Outcomes]]


@dataclass
class Stage:
    """A stage's input and how it decides one record; `run` is its Faust agent's body."""

    hub: Hub
    name: str
    channel: Channel
    decide: Decide
    caps: CapLedger | None = None
    # Aliases whose records are carried out on their own: what the batch decided before one is
    # carried out first, and the record's own outcome right after its decision (the sender's
    # touches: an email is never decided while earlier work waits, nor its result held back).
    alone: frozenset[str] = frozenset()

    def agent(self, agent_name: str, batch: int = 500, within: float = 0.02) -> None:
        """Register the Faust agent: batches of up to `batch` records, or what `within`
        seconds gathered. Records that must not wait behind decided work, nor hold theirs back,
        are named in `alone` (the sender's touches)."""

        batch_agent(self.hub, self.channel, agent_name, self.run_batch, batch, within)

    async def run_batch(self, events: list[Any]) -> None:
        outcomes: list[tuple[Any, Decided[Any]]] = []
        acks: list[Awaitable[Any]] = []
        emitted: list[Emit] = []
        outside = bind_record(None)
        for event in events:
            alone = bool(self.alone) and self.channel.alias_of(event) in self.alone
            if alone and outcomes:
                await self._carry_out(outcomes, acks, emitted)
                outcomes, acks, emitted = [], [], []
            bind_record(event.value)  # log lines until the next one are about this record
            # Table reads go to the event's own partition: a disk store keeps one database per
            # partition and looks a key up in the current event's, which is otherwise the
            # batch's last event (another partition: a stored person read as a new one).
            with_event(event)
            if self.caps is not None:
                self.caps.saw(event)
            try:
                decided = await self._decide(event)
                for d in decided:
                    acks += await send_emits(self.hub, d.decision.emits)
                    emitted += d.decision.emits
            except Exception as exc:  # one bad record must not stop the batch
                letter = self._dead_letter(event, exc)
                acks += await send_emits(self.hub, letter.emits)
                emitted += letter.emits
                decided = [Decided(None, "", None, letter)]
            for d in decided:
                if d.store is not None:
                    d.store.stage(d.key, d.decision.state)
                outcomes.append((event, d))
            if alone:
                await self._carry_out(outcomes, acks, emitted)
                outcomes, acks, emitted = [], [], []
        unbind(outside)
        await self._carry_out(outcomes, acks, emitted)

    async def _carry_out(self, outcomes: list[tuple[Any, Decided[Any]]],
                         acks: list[Awaitable[Any]], emitted: list[Emit]) -> None:
        await until_accepted(self.hub, self.name, acks, emitted)
        await carry_out(outcomes, self.caps)

    async def _decide(self, event: Any) -> list[Decided[Any]]:
        result = self.decide(self.channel.decode(event), event)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return []
        return [result] if isinstance(result, Decided) else list(result)

    def _dead_letter(self, event: Any, exc: Exception) -> Decision[None]:
        source = source_of(event)
        letter = dead_letter(
            self.name, event.value, source, exc, self.hub.clock.now(), STABLE_IDS,
            key=event.message.key, key_known=True,
        )
        # A record too broken to name its event is known by its dead letter's ids.
        ids = ids_in(event.value) or decision_ids(letter)
        with log_context(ids.correlation_id, ids.process_id):
            log.error("%s failed on %s (%s); dead-lettered", self.name, source,
                      type(exc).__name__)
        return letter

    async def carry_out_now(self, event: Any, decided: Decided[Any]) -> None:
        """One decision carried out before the batch goes on (the sender's in-flight marker,
        which must be in the changelog before the provider is called)."""
        acks = await send_emits(self.hub, decided.decision.emits)
        await until_accepted(self.hub, self.name, acks, decided.decision.emits)
        await carry_out([(event, decided)], self.caps)


def batch_agent(hub: Hub, channel: Channel, name: str,
                carry_out: Callable[[list[Any]], Awaitable[None]], batch: int = 500,
                within: float = 0.02) -> None:
    """The one batch loop: a Faust agent handing each batch of `channel`'s records to
    `carry_out`; the batch's offsets are committed only once it returns. Stages carry out
    with `Stage.run_batch`; the sink, which writes PostgreSQL rather than the broker, with
    its own write under the same failure policy (interpreter.until_done)."""

    @hub.app.agent(channel.topic, name=name)
    async def run(stream: Any) -> None:
        async for events in stream.take_events(batch, within=within):
            # Set here, not before the loop: the stream's drainer task, started by the first
            # take, must not inherit it (kernel/ack_guard.py).
            ack_guard.DECIDING.set(True)
            taken = list(events)
            started = time.perf_counter()
            observe_taken(name, taken, time.time())
            ack_guard.carrying_out()
            try:
                await carry_out(taken)
            finally:
                ack_guard.carried_out()
            metrics.STAGE_BATCH_SECONDS.labels(stage=name).observe(time.perf_counter() - started)


def observe_taken(stage: str, events: list[Any], now: float) -> None:
    """Count a batch's records and their age: wall time since each record's timestamp (the
    producer's or the broker's; the hub's clock may run fast, the records' never do)."""
    metrics.STAGE_RECORDS.labels(stage=stage).inc(len(events))
    age = metrics.EVENT_AGE_SECONDS.labels(stage=stage)
    for event in events:
        stamp = event.message.timestamp
        if stamp:
            age.observe(max(0.0, now - stamp))


def source_of(event: Any) -> SourceRef:
    msg = event.message
    return SourceRef(msg.topic, msg.partition, msg.offset)


def routed(emits: Iterable[Emit], effects: Iterable[Effect] = ()) -> Decided[None]:
    """A stateless outcome: emits (and counts) only, no table (the re-keying routers)."""
    return Decided(None, "", None, Decision(None, tuple(emits), tuple(effects)))
