"""The one decide-and-carry-out loop of every stage.

Waiting for the broker's acknowledgement before each table write keeps at-least-once honest
(a state is never stored ahead of the events it emitted) but costs a round trip per event. In
a batch: decide each event in order (a key met twice sees its own newer state), send every
emit, wait once, then write each state under its own event, so the table's changelog partition
is that event's partition as if it had been written inside the stream iteration.

What a batch's decisions send to a topic the stage packs (`Stage.packs`: the hub's own topics
whose consumers take many items to a record, streams/contracts/packing.py) is held until the
batch's wait, then packed by partition and sent with it: a batch of records of one item each
(a send report, say) still gives records of many items.

A record the stage cannot read or decide becomes a dead letter, emitted with the batch; a
broker that refuses emits is waited out (streams/kernel/interpreter.py says why).

A decision may be an `OutsideCall` (the sender's touch: a state to make durable, then the
email provider). The batch's decisions up to the next record of a key with a call pending are
made first, and carried out with the first call's state; then the calls are made in order, and
each call's result goes to the broker together with the next call's state, in one wait. So a
touch costs one broker wait, not two or three of its own, and a worker killed mid-batch leaves
one touch of unknown outcome, as one record at a time would: the call being made (every
result before it acknowledged, the states after it not written). Every decision sees the
state it would see one record at a time: a record of a key whose call is pending is decided
only after that call's result.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from agents.dead_letter import dead_letter
from streams.contracts.decision import Decision, Effect, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.packing import Packer
from streams.contracts.records import SourceRef
from streams.kernel import ack_guard, metrics
from streams.kernel.caps import CapLedger
from streams.kernel.changelog import with_event
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.interpreter import carry_out, send_emits, until_accepted
from streams.kernel.logging_setup import bind_record, decision_ids, ids_in, log_context, unbind
from streams.kernel.partitioning import pack_bytes, partition_for, produced_partitions
from streams.kernel.store import Decided

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class OutsideCall:
    """A decision whose state must be durable before a call outside the hub (the sender's
    in-flight marker, then the email provider), and the call, which decides its result."""

    before: Decided[Any]
    call: Callable[[], Awaitable[Decided[Any]]]


Outcomes = Decided[Any] | Iterable[Decided[Any]] | OutsideCall | None
# decide(item, event): the decoded record and its Faust event (partition, offset).
Decide = Callable[[Any, Any], Outcomes | Awaitable[Outcomes]]


@dataclass
class _Run:
    """What a batch decided and has not carried out yet."""

    outcomes: list[tuple[Any, Decided[Any]]] = field(default_factory=list)
    acks: list[Awaitable[Any]] = field(default_factory=list)
    emitted: list[Emit] = field(default_factory=list)
    held: list[Emit] = field(default_factory=list)  # to packed topics: sent at the wait
    calls: list[tuple[Any, OutsideCall]] = field(default_factory=list)  # states staged
    called: set[bytes | None] = field(default_factory=set)  # the calls' record keys

    def waits_for_a_call(self, event: Any) -> bool:
        # A stage's records are keyed by its table's key (the table is partitioned like them).
        key = event.message.key
        return bool(self.calls) and (key is None or key in self.called or None in self.called)


@dataclass
class Stage:
    """A stage's input and how it decides one record; `run` is its Faust agent's body."""

    hub: Hub
    name: str
    channel: Channel
    decide: Decide
    caps: CapLedger | None = None
    agent_name: str = ""  # set by `agent`: the label of the stage's metrics
    # Topic alias -> its packer: the batch's emits to it go packed (the module docstring).
    packs: Mapping[str, Packer] = field(default_factory=dict)

    def agent(self, agent_name: str, batch: int = 500, within: float = 0.02) -> None:
        """Register the Faust agent: batches of up to `batch` records, or what `within`
        seconds gathered."""

        self.agent_name = agent_name
        batch_agent(self.hub, self.channel, agent_name, self.run_batch, batch, within)

    async def run_batch(self, events: list[Any]) -> None:
        run = _Run()
        outside = bind_record(None)
        for event in events:
            if run.waits_for_a_call(event):
                await self._carry_out_with_calls(run)
                run = _Run()
            bind_record(event.value)  # log lines until the next one are about this record
            # Table reads go to the event's own partition: a disk store keeps one database per
            # partition and looks a key up in the current event's, which is otherwise the
            # batch's last event (another partition: a stored person read as a new one).
            with_event(event)
            if self.caps is not None:
                self.caps.saw(event)
            call: OutsideCall | None = None
            try:
                result = await self._decide(event)
                if isinstance(result, OutsideCall):
                    call, result = result, [result.before]
                await self._send(run, result)
            except Exception as exc:  # one bad record must not stop the batch
                call, result = None, [Decided(None, "", None, self._dead_letter(event, exc))]
                await self._send(run, result)
            if call is None:
                self._staged(run, event, result)
            else:
                self._staged(_Run(), event, [call.before])  # seen by the batch, written later
                run.calls.append((event, call))
                run.called.add(event.message.key)
        await self._carry_out_with_calls(run)
        unbind(outside)

    async def _send(self, run: _Run, decided: list[Decided[Any]]) -> None:
        packs = self.packs if self.packs and self.hub.settings.items_per_record > 1 else None
        for d in decided:
            emits = d.decision.emits
            if packs and any(e.topic in packs for e in emits):
                run.held += [e for e in emits if e.topic in packs]
                emits = tuple(e for e in emits if e.topic not in packs)
            run.acks += await send_emits(self.hub, emits)
            run.emitted += emits

    async def _send_held(self, run: _Run) -> None:
        """The batch's held emits, packed per topic (in the order decided, per partition). A
        producer that raises is a refusal like any other: `until_accepted` sends them again."""
        held, run.held = run.held, []
        packed: list[Emit] = []
        for topic, packer in self.packs.items():
            where = partial(partition_for, partitions=produced_partitions(self.hub, topic))
            records, held = packer(held, where, self.hub.settings.items_per_record,
                                   pack_bytes(self.hub, topic))
            packed += records
        packed += held  # what no packer took, as it was
        run.emitted += packed
        try:
            run.acks += await send_emits(self.hub, packed)
        except Exception as exc:
            refused: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            refused.set_exception(exc)
            run.acks.append(refused)

    @staticmethod
    def _staged(run: _Run, event: Any, decided: list[Decided[Any]]) -> None:
        for d in decided:
            if d.store is not None:
                d.store.stage(d.key, d.decision.state)
            run.outcomes.append((event, d))

    async def _carry_out(self, run: _Run) -> None:
        bind_record(None)  # what follows is about the batch, not its last record
        await self._acknowledged(run)
        await carry_out(run.outcomes, self.caps)

    async def _acknowledged(self, run: _Run) -> None:
        # Timed apart from the deciding (outreach_stage_ack_wait_seconds): the batch's share of
        # waiting on the broker.
        if run.held:
            await self._send_held(run)
        started = time.perf_counter()
        await until_accepted(self.hub, self.name, run.acks, run.emitted)
        metrics.STAGE_ACK_WAIT_SECONDS.labels(stage=self.agent_name or self.name).observe(
            time.perf_counter() - started)

    async def _carry_out_with_calls(self, run: _Run) -> None:
        """The decisions with the first call's state, then each call in order, its result
        acknowledged together with the next call's state (a MarkInFlight waits for the
        changelog) before that call is made."""
        calls = run.calls
        if calls:
            run.outcomes.append((calls[0][0], calls[0][1].before))
        await self._carry_out(run)
        for i, (event, outside) in enumerate(calls):
            bind_record(event.value)
            with_event(event)
            result = _Run()
            try:
                decided = [await outside.call()]
                await self._send(result, decided)
            except Exception as exc:  # the touch stays in flight: settled by its evidence
                decided = [Decided(None, "", None, self._dead_letter(event, exc))]
                await self._send(result, decided)
            self._staged(result, event, decided)
            following = _Run()
            if i + 1 < len(calls):
                self._staged(following, calls[i + 1][0], [calls[i + 1][1].before])
            await asyncio.gather(self._acknowledged(result), self._carry_out(following))
            await carry_out(result.outcomes, self.caps)

    async def _decide(self, event: Any) -> list[Decided[Any]] | OutsideCall:
        result = self.decide(self.channel.decode(event), event)
        if inspect.isawaitable(result):
            result = await result
        if result is None:
            return []
        if isinstance(result, OutsideCall):
            return result
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
