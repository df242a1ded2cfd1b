"""A stage's queue never makes Faust's delivery wait (kernel/delivery.py): a record past its size
is held and its partition paused; records come out in the order they were put, per lane;
paused partitions resume once nothing is held and the lane has drained; the reply path's
topics (`first`) are taken before the rest."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import TopicPartition
from faust.types import TP
from hypothesis import given
from hypothesis import strategies as st
from mode.utils.queues import FlowControlEvent

from streams.app import create_app
from streams.kernel.channel import Channel
from streams.kernel.delivery import HoldingQueue, HoldingTopic
from streams.kernel.settings import Settings

A, B = TP("outreach.send.events", 0), TP("outreach.engagement.events", 1)


@dataclass(frozen=True)
class Message:
    """What Faust's consumer hands over: its `tp` is aiokafka's, not Faust's."""

    topic: str
    partition: int

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True)
class Event:
    message: Message
    n: int


def queue(maxsize: int, first: frozenset[str] = frozenset()
          ) -> tuple[HoldingQueue, list[tuple[str, TP]]]:
    calls: list[tuple[str, TP]] = []
    q = HoldingQueue(maxsize, pause=lambda tp: calls.append(("pause", tp)),
                     resume=lambda tp: calls.append(("resume", tp)), first=first,
                     flow_control=FlowControlEvent(), clear_on_resume=True)
    return q, calls


def test_a_full_queue_holds_and_pauses_instead_of_waiting() -> None:
    q, calls = queue(2)
    for n in range(5):
        assert not q.full()  # the conductor's test: never "wait for room"
        q.put_nowait(Event(Message(*A), n))
    assert q.qsize() == 2 and len(q.held) == 3
    assert calls == [("pause", A)] * 3
    # Faust's consumer asserts its active partitions are its own TP: a worker stopped on it.
    assert all(type(tp) is TP for _, tp in calls)
    assert [q.get_nowait().n for _ in range(5)] == [0, 1, 2, 3, 4]
    # Nothing held and the queue drained: the partition fetches again, once.
    assert calls[3:] == [("resume", A)]
    assert not q.paused


def test_a_record_behind_held_ones_is_held_too_even_with_room() -> None:
    q, _ = queue(2)
    for n in range(3):
        q.put_nowait(Event(Message(*A), n))
    q.get_nowait()  # room for one: the held record 2 moves in, none is left held
    q.put_nowait(Event(Message(*B), 3))  # the queue is full again: held, not ahead of anything
    assert q.qsize() == 2 and [e.n for e in q.held] == [3]
    assert [q.get_nowait().n for _ in range(3)] == [1, 2, 3]


def test_resume_waits_for_the_pressure_drop_size() -> None:
    q, calls = queue(10)  # Faust's drop size: 40% of 10 = 4
    for n in range(12):
        q.put_nowait(Event(Message(*A), n))
    for _ in range(7):
        q.get_nowait()
    assert ("resume", A) not in calls  # nothing held, but 5 queued: still above 4
    q.get_nowait()
    assert calls[-1] == ("resume", A)


def test_clear_drops_the_held_records_and_leaves_the_partitions_to_the_rebalance() -> None:
    q, calls = queue(1)
    q.put_nowait(Event(Message(*A), 0))
    q.put_nowait(Event(Message(*B), 1))
    q.clear()  # a rebalance: held records are fetched again from the committed offset
    assert q.empty() and not q.held and not q.paused
    # Faust makes the new assignment active itself; a resume here could revive a revoked one.
    assert calls == [("pause", B)]


def test_the_reply_paths_records_are_taken_before_the_rest() -> None:
    q, _ = queue(8, first=frozenset({B.topic}))
    for n, tp in enumerate([A, A, B, A, B]):
        q.put_nowait(Event(Message(*tp), n))
    assert q.qsize() == 5
    # The signals first, each lane in its own order.
    assert [q.get_nowait().n for _ in range(5)] == [2, 4, 0, 1, 3]
    assert q.empty()


def test_a_reply_is_not_held_behind_bulk_records_that_are() -> None:
    q, calls = queue(2, first=frozenset({B.topic}))
    for n in range(4):
        q.put_nowait(Event(Message(*A), n))  # two queued, two held: the bulk partition paused
    q.put_nowait(Event(Message(*B), 4))
    assert [e.n for e in q.held] == [2, 3] and q.paused == {A}
    assert calls == [("pause", A)] * 2  # the reply's partition goes on fetching
    assert q.get_nowait().n == 4
    assert [q.get_nowait().n for _ in range(4)] == [0, 1, 2, 3]
    assert calls[-1] == ("resume", A) and not q.paused


def test_each_lane_holds_and_resumes_on_its_own() -> None:
    q, calls = queue(1, first=frozenset({B.topic}))
    for n, tp in enumerate([B, B, A, A]):
        q.put_nowait(Event(Message(*tp), n))
    assert q.qsize() == 2 and q.paused == {A, B}
    assert q.get_nowait().n == 0  # the held signal moves in: the bulk partition stays paused
    assert q.paused == {A, B} and [e.n for e in q.held] == [3]
    assert q.get_nowait().n == 1
    assert calls[-1] == ("resume", B) and q.paused == {A}
    assert [q.get_nowait().n for _ in range(2)] == [2, 3]
    assert calls[-1] == ("resume", A) and not q.paused


@given(st.lists(st.tuples(st.sampled_from([A, B]), st.booleans()), max_size=60),
       st.integers(1, 8), st.booleans())
def test_records_leave_in_the_order_they_came(ops: list[tuple[TP, bool]], maxsize: int,
                                              b_first: bool) -> None:
    """Any mix of puts and takes: each partition's records come out in the order they went
    in, none is lost, a reply-path record queued is taken before any other, and a partition
    is paused whenever anything of it is held."""
    q, _ = queue(maxsize, first=frozenset({B.topic}) if b_first else frozenset())
    put: dict[TP, list[int]] = {A: [], B: []}
    taken: dict[TP, list[int]] = {A: [], B: []}
    order: list[int] = []

    def take() -> None:
        signals_queued = any(e.message.topic == B.topic for e in q.first.queued)
        event = q.get_nowait()
        if b_first and signals_queued:
            assert event.message.topic == B.topic
        taken[TP(event.message.topic, event.message.partition)].append(event.n)
        order.append(event.n)

    for n, (tp, do_take) in enumerate(ops):
        if do_take and not q.empty():
            take()
        q.put_nowait(Event(Message(*tp), n))
        put[tp].append(n)
        assert len(q.first.queued) <= maxsize and len(q.rest.queued) <= maxsize
        assert {e.message.tp for e in q.held} <= q.paused
    while not q.empty():
        take()
    assert taken == put and not q.held
    if not b_first:
        assert order == sorted(order)  # one lane: the order they came in, across partitions


def test_an_awaiting_stage_is_woken_by_a_put() -> None:
    async def run() -> int:
        q, _ = queue(4)
        getter = asyncio.ensure_future(q.get())
        await asyncio.sleep(0)
        q.put_nowait(Event(Message(*A), 7))
        event: Event = await asyncio.wait_for(getter, 1)
        return event.n

    assert asyncio.run(run()) == 7


@pytest.mark.parametrize("alias", ["sequencer", "engagement"])
def test_every_stage_reads_over_a_holding_queue(tmp_path: Path, alias: str) -> None:
    settings = Settings(stages=(alias,), data_dir=tmp_path)
    hub = create_app(settings, "127.0.0.1:1", "postgresql://127.0.0.1:1/none")
    agents = list(hub.app.agents.values())
    assert agents
    for agent in agents:
        assert isinstance(agent.channel, HoldingTopic), agent.name
        # The clone Faust iterates is one too, and so is the queue it makes.
        queue = agent.channel.clone(is_iterator=True).queue
        assert isinstance(queue, HoldingQueue)
        # Whatever stops a sequence is taken before the stage's bulk work.
        if agent.name in ("sequencer", "engagement"):
            assert queue.first_topics == FIRST[agent.name], agent.name


FIRST = {"sequencer": {"outreach.engagement.events", "email-provider.events"},
         "engagement": {"email-provider.events", "outreach.engagement.routed"}}


def test_a_channel_refuses_a_first_topic_it_does_not_read(tmp_path: Path) -> None:
    hub = create_app(Settings(stages=("sequencer",), data_dir=tmp_path), "127.0.0.1:1",
                     "postgresql://127.0.0.1:1/none")
    with pytest.raises(ValueError, match="does not read"):
        Channel(hub, "send_events", "sequence_commands", first=("engagement_events",))
