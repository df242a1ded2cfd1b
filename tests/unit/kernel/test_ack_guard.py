"""A record Faust skipped during a rebalance is not acknowledged (so its offset is not
committed); one a stage's batch loop decided is, whatever the flow's state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types.tuples import ConsumerMessage

from streams.kernel import ack_guard


class Flow:
    def __init__(self) -> None:
        self.active = True

    def is_active(self) -> bool:
        return self.active


class Consumer:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, message: Any) -> bool:
        self.acked.append(message.offset)
        return True


def message(offset: int, generation: int, refs: int = 1) -> ConsumerMessage:
    m = ConsumerMessage("outreach.send.requests", 0, offset, 0.0, 0, None, b"k", b"v", None,
                        generation_id=generation)
    m.incref(refs)
    return m


@pytest.fixture
def app() -> Iterator[Any]:
    app = SimpleNamespace(flow_control=Flow(), consumer_generation_id=1)
    ack_guard.install(app)
    yield app
    ack_guard._app = None  # the guard lets every acknowledgement through again


def test_a_record_skipped_while_the_flow_is_suspended_is_not_acknowledged(app: Any) -> None:
    consumer: Any = Consumer()
    app.flow_control.active = False  # a rebalance began
    skipped = message(40, generation=1)
    assert skipped.ack(consumer) is False
    assert consumer.acked == [] and skipped.refcount == 1  # delivered again after the seek


def test_a_record_of_an_older_generation_is_not_acknowledged(app: Any) -> None:
    consumer: Any = Consumer()
    stale = message(41, generation=0)  # fetched before the rebalance, reached a stream after
    assert stale.ack(consumer) is False
    assert consumer.acked == []


def test_one_agent_skipping_a_shared_record_keeps_it_unacknowledged(app: Any) -> None:
    # Delivered to the sender and the sink: the sink decided it, the sender skipped it.
    consumer: Any = Consumer()
    shared = message(42, generation=1, refs=2)

    async def sink_decides() -> None:
        ack_guard.DECIDING.set(True)
        shared.ack(consumer)

    asyncio.run(sink_decides())
    app.flow_control.active = False
    shared.ack(consumer)
    assert consumer.acked == [] and shared.refcount == 1


def test_a_record_a_batch_loop_decided_is_acknowledged_during_a_rebalance(app: Any) -> None:
    consumer: Any = Consumer()
    app.flow_control.active = False  # its batch finished while the rebalance waits for it

    async def batch_loop() -> None:
        ack_guard.DECIDING.set(True)
        assert message(43, generation=1).ack(consumer) is True

    asyncio.run(batch_loop())
    assert consumer.acked == [43]


def test_records_flowing_normally_are_acknowledged(app: Any) -> None:
    consumer: Any = Consumer()
    assert message(44, generation=1).ack(consumer) is True
    assert consumer.acked == [44]
