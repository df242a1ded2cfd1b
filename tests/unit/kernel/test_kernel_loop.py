"""The kernel's loop and interpreter, with a fake producer and fake tables (no broker).

What a user would notice: a state is never stored before the broker has the events it
emitted; a broker that refuses emits is waited out, the input is not dead-lettered; a record
that cannot be decided becomes a dead letter and the rest of the batch goes on; caps spent in
a batch are seen by the batch's next decisions and written once per counter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from streams.contracts import codec
from streams.contracts.decision import (
    ConsumeCap,
    CounterName,
    Decision,
    Emit,
    GaugeName,
    MarkInFlight,
    SetGauge,
)
from streams.contracts.topics import load_catalog
from streams.kernel import interpreter, metrics
from streams.kernel.caps import CapLedger
from streams.kernel.loop import OutsideCall, Stage
from streams.kernel.store import Decided, TableStore

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


class Note(BaseModel):
    n: int


@dataclass
class Msg:
    topic: str
    partition: int
    offset: int
    key: bytes | None = None


@dataclass
class Event:
    value: bytes
    message: Msg


class FakeProducer:
    """Acknowledges (or refuses, `refusals` times) every send; records what the broker has."""

    def __init__(self, log: list[str], refusals: int = 0) -> None:
        self.log, self.refusals = log, refusals
        self.accepted: list[tuple[str, bytes | None, bytes, int | None]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None,
                   timestamp: Any, headers: Any) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.refusals:
            self.refusals -= 1
            done.set_exception(ConnectionError("broker refused"))
        else:
            self.accepted.append((topic, key, value, partition))
            self.log.append(f"ack {topic}")
            done.set_result(None)
        return done



class FakeTable(dict[str, Any]):
    """What the kernel uses of a Faust table. A state's write is a changelog record
    (`send_changelog`), acknowledged at once unless `refusals` or `held` say otherwise; the
    caps ledger writes through `table[key] = value`."""

    def __init__(self, log: list[str], refusals: int = 0, held: bool = False) -> None:
        super().__init__()
        self.log, self.refusals, self.held = log, refusals, held
        self.data = _Data(self)

    def __setitem__(self, key: str, value: Any) -> None:
        self.log.append(f"write {key}")
        super().__setitem__(key, value)

    def partition_for_key(self, _key: str) -> int:
        return 0

    def send_changelog(self, partition: int, key: str, value: Any) -> Any:
        self.log.append(f"write {key}")
        sent = _Sent(asyncio.get_running_loop().create_future(), partition)
        if self.refusals:
            self.refusals -= 1
            sent.set_exception(ConnectionError("broker refused"))
        elif self.held:  # the broker acknowledges a moment later
            asyncio.get_running_loop().call_later(0.01, self._ack, sent, key)
        else:
            sent.set_result(None)
        return sent

    def _ack(self, sent: Any, key: str) -> None:
        self.log.append(f"changelog has {key}")
        sent.set_result(None)

    def _maybe_set_key_ttl(self, _key: str, _partition: int) -> None:
        return None

    def _sensor_on_set(self, _table: Any, _key: str, _value: Any) -> None:
        return None


class _Sent(asyncio.Future[None]):
    """Faust's FutureMessage: a future that knows its record's partition."""

    def __init__(self, template: asyncio.Future[None], partition: int) -> None:
        super().__init__(loop=template.get_loop())
        self.message = Msg("changelog", partition, 0)


class _Data:
    def __init__(self, table: FakeTable) -> None:
        self.table = table

    def __getitem__(self, key: str) -> Any:
        return dict.__getitem__(self.table, key)

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self.table, key, value)


class FakeApp:
    def __init__(self, producer: FakeProducer) -> None:
        self.producer = producer

    async def maybe_start_producer(self) -> FakeProducer:
        return self.producer


class FakeClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class FakeHub:
    app: FakeApp
    catalog: Any
    clock: FakeClock


class Decode:
    """A channel stand-in: JSON to Note (a value that is not one fails to decode)."""

    def decode(self, event: Event) -> Note:
        return Note.model_validate(codec.loads(event.value))


def event(n: int, offset: int = 0, partition: int = 0) -> Event:
    return Event(codec.dumps({"n": n}), Msg("outreach.gate.verdict", partition, offset))


def setup(refusals: int = 0) -> tuple[list[str], Any, FakeProducer, FakeTable]:
    log: list[str] = []
    producer = FakeProducer(log, refusals)
    return log, FakeHub(FakeApp(producer), load_catalog(), FakeClock()), producer, FakeTable(log)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def instant(_delay: float) -> None:
        return None

    monkeypatch.setattr(interpreter.asyncio, "sleep", instant)


@pytest.fixture(autouse=True)
def no_faust_event(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fakes are not Faust events; which partition a write lands on is Faust's business.
    monkeypatch.setattr("streams.kernel.changelog.with_event", lambda _event: None)
    monkeypatch.setattr("streams.kernel.caps.with_event", lambda _event: None)


def summing_stage(hub: Any, table: FakeTable) -> Stage:
    store: TableStore[int] = TableStore(table, lambda _k, raw: int(raw), lambda s: s,
                                        lambda _k: 0)

    def decide(item: Note, _event: Any) -> Decided[int]:
        before = store.get("total")
        after = before + item.n
        return store.decided("total", before, Decision(
            after, (Emit("sequence_events", "total", Note(n=after)),)))

    return Stage(hub, "test", Decode(), decide)  # type: ignore[arg-type]


async def test_states_are_written_after_the_broker_has_every_emit_and_see_each_other() -> None:
    log, hub, producer, table = setup()
    await summing_stage(hub, table).run_batch([event(1, 0), event(2, 1), event(3, 2)])
    # Each decision saw the batch's newer state (1, 3, 6); the write came after every ack, once
    # for the key, its last state (under the last event: that event's changelog partition).
    assert [codec.loads(v)["n"] for _, _, v, _ in producer.accepted] == [1, 3, 6]
    assert log == ["ack outreach.sequence.events"] * 3 + ["write total"]
    assert table["total"] == 6


async def test_each_key_is_written_once_per_batch_and_not_at_all_when_back_where_it_began(
) -> None:
    log, hub, _producer, table = setup()
    table["a"], table["b"] = 10, 20
    log.clear()
    store: TableStore[int] = TableStore(table, lambda _k, raw: int(raw), lambda s: s,
                                        lambda _k: 0)

    def decide(item: Note, _event: Any) -> Decided[int]:
        if item.n:  # a: adds n
            return store.decided("a", before := store.get("a"), Decision(before + item.n))
        before = store.get("b")  # b: 20 -> 21 -> 20, back where it began
        return store.decided("b", before, Decision(21 if before == 20 else 20))

    stage = Stage(hub, "test", Decode(), decide)  # type: ignore[arg-type]
    await stage.run_batch([event(1, 0), event(0, 1), event(2, 2), event(0, 3), event(3, 4)])
    assert [line for line in log if line.startswith("write")] == ["write a"]
    assert (table["a"], table["b"]) == (16, 20)


async def test_writes_go_out_in_the_order_of_each_key_last_decision() -> None:
    # Each record writes a part of its own, then the whole that names it (the gate's slot, then
    # its company): the whole is written last, after every part it names, though it was first
    # decided before the second part.
    log, hub, _producer, table = setup()
    store: TableStore[int] = TableStore(table, lambda _k, raw: int(raw), lambda s: s,
                                        lambda _k: 0)

    def decide(item: Note, _event: Any) -> list[Decided[int]]:
        whole = store.get("whole")
        return [store.decided(f"part-{item.n}", 0, Decision(item.n)),
                store.decided("whole", whole, Decision(whole + item.n))]

    stage = Stage(hub, "test", Decode(), decide)  # type: ignore[arg-type]
    await stage.run_batch([event(1, 0), event(2, 1)])
    assert [line for line in log if line.startswith("write")] == [
        "write part-1", "write part-2", "write whole"]


async def test_a_refusing_broker_is_waited_out_and_nothing_is_dead_lettered() -> None:
    _, hub, producer, table = setup(refusals=2)
    await summing_stage(hub, table).run_batch([event(5)])
    assert [t for t, _, _, _ in producer.accepted] == ["outreach.sequence.events"]
    assert table["total"] == 5


class LateProducer(FakeProducer):
    """Acknowledges every send `delay` seconds after it was handed over."""

    delay = 0.05

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None,
                   timestamp: Any, headers: Any) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(self.delay, done.set_result, None)
        return done


async def test_the_batch_wait_for_the_broker_is_observed_under_the_stage() -> None:
    log: list[str] = []
    hub = FakeHub(FakeApp(LateProducer(log)), load_catalog(), FakeClock())
    table = FakeTable(log)
    stage = summing_stage(hub, table)
    stage.name = "test-ack-wait"

    def sample(name: str) -> float:
        return metrics.REGISTRY.get_sample_value(
            f"outreach_stage_ack_wait_seconds_{name}", {"stage": "test-ack-wait"}) or 0.0

    await stage.run_batch([event(1, 0), event(2, 1)])
    # One wait for the batch's two emits, as long as the broker took and not much longer.
    assert sample("count") == 1
    assert LateProducer.delay <= sample("sum") < 1.0
    assert table["total"] == 3


async def test_an_undecidable_record_is_dead_lettered_and_the_batch_goes_on() -> None:
    _, hub, producer, table = setup()
    bad = Event(b'{"n": "many"}', Msg("outreach.gate.verdict", 0, 7))
    await summing_stage(hub, table).run_batch([event(1, 0), bad, event(2, 2)])
    letters = [codec.loads(v) for t, _, v, _ in producer.accepted if t == "outreach.errors"]
    assert [(x["code"], x["source_offset"]) for x in letters] == [("DLQ-INVALID-EVENT", 7)]
    assert table["total"] == 3


class Sender:
    """The sender's shape over a store of ints: a report (an even n) adds n to its person's
    state; a touch (an odd n) marks the person in flight (n * 100, MarkInFlight unless
    `marked` is False), then the provider call records it (n * 100 + 1) and emits its send
    event."""

    def __init__(self, hub: Any, table: FakeTable, log: list[str], marked: bool = True,
                 failing: frozenset[int] = frozenset()) -> None:
        self.log, self.marked, self.failing = log, marked, failing
        self.store: TableStore[int] = TableStore(table, lambda _k, r: int(r), lambda s: s,
                                                 lambda _k: 0)
        self.seen: list[tuple[int, int]] = []  # (n, the state it was decided on)
        self.stage = Stage(hub, "sender", Decode(), self.decide)  # type: ignore[arg-type]

    def decide(self, item: Note, ev: Event) -> Decided[int] | OutsideCall:
        key = (ev.message.key or b"").decode()
        before = self.store.get(key)
        self.seen.append((item.n, before))
        self.log.append(f"decide {item.n}")
        if item.n % 2 == 0:
            return self.store.decided(key, before, Decision(before + item.n))
        effects = (MarkInFlight(str(item.n)),) if self.marked else ()
        marked = self.store.decided(key, before, Decision(item.n * 100, effects=effects))

        async def call() -> Decided[int]:
            self.log.append(f"call {item.n}")
            if item.n in self.failing:
                raise RuntimeError("provider adapter bug")
            return self.store.decided(key, item.n * 100, Decision(
                item.n * 100 + 1, (Emit("send_events", key, Note(n=item.n)),)))

        return OutsideCall(marked, call)


def keyed(n: int, key: str, offset: int = 0) -> Event:
    return Event(codec.dumps({"n": n}), Msg("outreach.send.requests", 0, offset, key.encode()))


async def test_markers_are_durable_with_one_wait_before_the_calls_and_results_follow_them(
) -> None:
    log, hub, producer, _ = setup()
    table = FakeTable(log, held=True)
    sender = Sender(hub, table, log)
    await sender.stage.run_batch([keyed(2, "a"), keyed(1, "b"), keyed(4, "c"), keyed(3, "d")])
    ack = "ack outreach.send.events"  # the fake broker acknowledges as it is sent
    assert log == [
        "decide 2", "decide 1", "decide 4", "decide 3",
        "write a", "write c", "write b",  # the reports and the first marker, one wait ...
        "changelog has a", "changelog has c", "changelog has b",
        "call 1", ack,  # ... before the first call; its result's event and ...
        "write d", "changelog has d",  # ... the next marker in one wait ...
        "write b",  # (the result's state once its event is acknowledged)
        "call 3", ack, "write d",  # ... before the next call
    ]
    assert dict(table) == {"a": 2, "b": 101, "c": 4, "d": 301}
    assert len(producer.accepted) == 2


async def test_a_record_of_a_person_with_a_call_pending_is_decided_on_its_result() -> None:
    """One record at a time, a person's second touch or report sees the first touch's result:
    batched, it is decided only once that call is made and carried out."""
    log, hub, _, table = setup()
    sender = Sender(hub, table, log)
    await sender.stage.run_batch([keyed(1, "p"), keyed(3, "q"), keyed(2, "p"), keyed(5, "p")])
    assert sender.seen == [(1, 0), (3, 0), (2, 101), (5, 103)]
    assert log.index("call 3") < log.index("decide 2")  # the run before it, calls included
    assert table["p"] == 501 and table["q"] == 301


@pytest.mark.parametrize("refusals", [0, 2])
async def test_the_provider_is_called_once_the_changelog_has_the_marker(refusals: int) -> None:
    log, hub, _, _ = setup()
    table = FakeTable(log, refusals=refusals, held=True)
    await Sender(hub, table, log).stage.run_batch([keyed(1, "p")])
    # A refused record is written again (the same state) until the broker has it.
    assert log[:refusals + 4] == (["decide 1"] + ["write p"] * (refusals + 1)
                                  + ["changelog has p", "call 1"])
    assert table["p"] == 101


async def test_without_a_mark_the_call_does_not_wait_for_the_changelog() -> None:
    log, hub, _, _ = setup()
    table = FakeTable(log, held=True)
    await Sender(hub, table, log, marked=False).stage.run_batch([keyed(1, "p")])
    assert log[:3] == ["decide 1", "write p", "call 1"]


async def test_a_call_that_fails_is_dead_lettered_and_the_others_go_on() -> None:
    log, hub, producer, table = setup()
    sender = Sender(hub, table, log, failing=frozenset({1}))
    await sender.stage.run_batch([keyed(1, "p", 7), keyed(3, "q", 8)])
    letters = [codec.loads(v) for t, _, v, _ in producer.accepted if t == "outreach.errors"]
    assert [x["source_offset"] for x in letters] == [7]
    # The failed touch stays in flight (its evidence settles it); the other is recorded.
    assert table["p"] == 100 and table["q"] == 301


async def test_when_a_call_is_made_it_is_the_one_touch_whose_outcome_a_kill_would_lose(
) -> None:
    """At each provider call: every earlier touch's send event is acknowledged and its state
    settled, and no later touch is marked yet; a worker killed then leaves this touch alone
    in flight, as one record at a time would."""
    log, hub, producer, table = setup()
    sender = Sender(hub, table, log)
    at_call: list[tuple[list[str], int]] = []
    decide = sender.decide

    def watched(item: Note, ev: Event) -> Any:
        outside = decide(item, ev)
        assert isinstance(outside, OutsideCall)
        inner = outside.call

        async def call() -> Decided[int]:
            marked = sorted(k for k, v in table.items() if v % 100 == 0)
            at_call.append((marked, len(producer.accepted)))
            return await inner()

        return OutsideCall(outside.before, call)

    sender.stage.decide = watched
    await sender.stage.run_batch([keyed(n, k) for n, k in [(1, "p"), (3, "q"), (5, "r")]])
    assert at_call == [(["p"], 0), (["q"], 1), (["r"], 2)]
    assert table == {"p": 101, "q": 301, "r": 501}


async def test_an_unchanged_state_is_not_written() -> None:
    log, hub, _, table = setup()
    await summing_stage(hub, table).run_batch([event(0)])
    assert "write total" not in log


async def test_caps_spent_are_seen_by_the_next_decision_and_written_once_per_counter() -> None:
    log, hub, _, _ = setup()
    caps_table = FakeTable(log)
    caps = CapLedger(caps_table, FakeClock())  # type: ignore[arg-type]
    spend = ConsumeCap("2026-11-25", "sales@x.test", "y.test")
    seen: list[int] = []

    def decide(_item: Note, ev: Any) -> Decided[None]:
        seen.append(caps.get("0|2026-11-25|m|sales@x.test"))
        decision: Decision[None] = Decision(None, effects=(spend,))
        caps.decided(ev.message.partition, decision.effects)
        return Decided(None, "", None, decision)

    await Stage(hub, "test", Decode(), decide, caps).run_batch(  # type: ignore[arg-type]
        [event(1, 0), event(1, 1)])
    assert seen == [0, 1]
    assert caps_table["0|2026-11-25|m|sales@x.test"] == 2
    assert log.count("write 0|2026-11-25|m|sales@x.test") == 1


async def test_a_gauge_is_left_at_the_batch_last_setting_after_the_broker_has_the_emits(
) -> None:
    _, hub, producer, _ = setup()
    label = (("campaign", "kernel-unit-test"),)

    def decide(item: Note, _event: Any) -> Decided[None]:
        return Decided(None, "", None, Decision(None, (Emit("sequence_events", "k", item),), (
            SetGauge("engagement_rate", label, item.n / 4),)))

    await Stage(hub, "test", Decode(), decide).run_batch(  # type: ignore[arg-type]
        [event(2), event(1)])
    assert len(producer.accepted) == 2
    assert metrics.REGISTRY.get_sample_value(
        "outreach_engagement_rate", {"campaign": "kernel-unit-test"}) == 0.25


async def test_a_failing_carry_out_step_is_retried_with_growing_backoff_until_done() -> None:
    # The sink's PostgreSQL write is carried out under the same policy as the broker's acks:
    # its batch is acknowledged only once a write succeeded, however many failed first.
    outcomes: list[Exception | int] = [ConnectionError("down"), OSError("refused"), 7]
    failures: list[tuple[str, float]] = []

    async def attempt() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    written = await interpreter.until_done(
        attempt, lambda exc, delay: failures.append((type(exc).__name__, delay)))
    assert written == 7
    assert failures == [("ConnectionError", 0.5), ("OSError", 1.0)]


def test_every_metric_name_is_declared_and_every_declared_metric_is_named() -> None:
    # The typing makes a misspelt Count a mypy error; this keeps the two lists one.
    assert set(get_args(CounterName)) == set(metrics.COUNTERS)
    assert set(get_args(GaugeName)) == set(metrics.GAUGES)


class FakeConsumer:
    """Faust's consumer, over an aiokafka consumer that read every topic's metadata: 4
    partitions each."""

    class _Inner:
        def partitions_for_topic(self, _topic: str) -> set[int]:
            return {0, 1, 2, 3}

    _thread = SimpleNamespace(_consumer=_Inner())


@dataclass
class FakeSettings:
    items_per_record: int


def enrolling_stage(producer: FakeProducer, table: FakeTable, per_record: int) -> Stage:
    """The enrollment stage's shape: each record enrolls one person (and emits a note of its
    own, not packed); its enrollments are packed."""
    from agents.sequencer.packing import packed_enrollments
    from streams.contracts.models import EnrollContact

    app = FakeApp(producer)
    app.consumer = FakeConsumer()  # type: ignore[attr-defined]
    hub = FakeHub(app, load_catalog(), FakeClock())
    hub.settings = FakeSettings(per_record)  # type: ignore[attr-defined]
    store: TableStore[int] = TableStore(table, lambda _k, raw: int(raw), lambda s: s,
                                        lambda _k: 0)

    def decide(item: Note, _event: Any) -> Decided[int]:
        enrollment = EnrollContact(
            enrollment_id=f"e-{item.n}", contact_key=f"person-{item.n}", lead_id=f"l-{item.n}",
            strategy="PERSONALIZED_EMAIL", to_email="someone@example.invalid",
            correlation_id="c", requested_at=NOW)
        before = store.get("seen")
        return store.decided("seen", before, Decision(before + 1, (
            Emit("sequence_commands", enrollment.contact_key, enrollment),
            Emit("sequence_events", "seen", Note(n=item.n)))))

    return Stage(hub, "test", Decode(), decide,  # type: ignore[arg-type]
                 packs={"sequence_commands": packed_enrollments})


def enrollments_sent(producer: FakeProducer) -> list[Any]:
    from streams.contracts.models import SequenceCommand

    return [SequenceCommand.model_validate(codec.loads(v))
            for t, _, v, _ in producer.accepted if t == "outreach.sequence.commands"]


@pytest.mark.parametrize("per_record", [100, 3, 1])
async def test_a_batchs_emits_to_a_packed_topic_go_packed_by_partition_before_any_write(
        per_record: int) -> None:
    # The batch's enrollments reach the broker packed, each person's on the partition it
    # hashes to, in the order decided, before any state is written; with one item a record,
    # each goes alone.
    from streams.contracts.models import EnrollContact
    from streams.kernel.partitioning import partition_for

    log, _, producer, table = setup()
    await enrolling_stage(producer, table, per_record).run_batch(
        [event(n, n) for n in range(10)])

    commands = enrollments_sent(producer)
    items = [c.enrollments for c in commands]
    assert all(1 <= len(i) <= per_record for i in items)
    assert all(len({partition_for(e.contact_key, 4) for e in i}) == 1 for i in items)
    got = [e.lead_id for i in items for e in i]
    assert sorted(got) == sorted(f"l-{n}" for n in range(10))
    for p in range(4):
        mine = [f"l-{n}" for n in range(10) if partition_for(f"person-{n}", 4) == p]
        assert [lead for lead in got if lead in mine] == mine
    assert (per_record == 1) == all(isinstance(c.root, EnrollContact) for c in commands)
    assert log.index("write seen") == len(producer.accepted)  # every emit acknowledged first
    assert table["seen"] == 10


class RaisingProducer(FakeProducer):
    """Raises from `send` itself (a full buffer, a metadata timeout) `raises` times, for the
    packed topic's records (the ones held to the batch's wait)."""

    def __init__(self, log: list[str], raises: int) -> None:
        super().__init__(log)
        self.raises = raises

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None,
                   timestamp: Any, headers: Any) -> asyncio.Future[None]:
        if self.raises and topic == "outreach.sequence.commands":
            self.raises -= 1
            raise ConnectionError("producer buffer full")
        return await super().send(topic, key, value, partition, timestamp, headers)


async def test_held_emits_a_producer_raises_on_are_sent_again_before_any_write() -> None:
    log: list[str] = []
    producer, table = RaisingProducer(log, raises=1), FakeTable(log)
    await enrolling_stage(producer, table, 100).run_batch([event(n, n) for n in range(6)])
    leads = sorted(e.lead_id for c in enrollments_sent(producer) for e in c.enrollments)
    assert leads == [f"l-{n}" for n in range(6)]  # none lost (a pack may go twice)
    assert log[-1] == "write seen" and table["seen"] == 6


async def test_a_key_whose_fold_raises_dead_letters_its_items_alone() -> None:
    # One stored state that does not read must not take the pack's other keys with it, nor
    # make one letter of their items: each of its items is a letter of its own.
    from streams.kernel.packed_items import folded_each, guarded

    _, hub, _, table = setup()
    table["good"], table["bad"] = 1, "not a number"
    store: TableStore[int] = TableStore(table, lambda _k, raw: int(raw), lambda s: s,
                                        lambda _k: 0)
    items = [Note(n=1), Note(n=2), Note(n=3), Note(n=4)]
    groups = {"good": items[:2], "bad": items[2:3], "worse": items[3:]}
    out: list[Decided[Any]] = []

    def add(state: int, item: Note) -> Decision[int]:
        if item.n == 4:
            raise ValueError("a rule the item breaks")
        return Decision(state + item.n)

    step = guarded(hub, "test", event(0), out, add, lambda _i: "k", lambda i: f"n{i.n}")
    decided = folded_each(hub, "test", event(0), groups,
                          lambda key, mine: store.folded(key, mine, step),
                          lambda i: f"n{i.n}")
    states = {d.key: d.decision.state for d in decided if d.store is not None}
    assert states == {"good": 4, "worse": 0}  # 1 + 1 + 2; the failed item left 0 as it was
    letters = [e.event for d in [*decided, *out] if d.store is None for e in d.decision.emits]
    assert len(letters) == 2 and len({letter.event_id for letter in letters}) == 2
