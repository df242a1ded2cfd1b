"""A worker is stopped in the middle of running sequences and started again: it goes on from
its stored persons (the remaining touches come, each once; a redelivered verdict enrolls no one
twice). With its tables on disk (OUTREACH_TABLE_STORE=rocksdict) on the same data directory;
with the memory store, from the changelog it loads in bulk (kernel/table_stores.py). Driven
from outside with confluent-kafka; hub time accelerated."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Producer

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.test_sequencer_rebalance_e2e import verdict
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

PEOPLE = 12
TOUCHES = 5  # PERSONALIZED_EMAIL: 5 emails, 3 days apart: 12 hub days
SPEED = 30_000.0  # 12 hub days in about 35 wall seconds


def publish_verdicts(broker: str) -> None:
    producer = Producer({"bootstrap.servers": broker})
    for n in range(PEOPLE):
        producer.produce("outreach.gate.verdict", key=f"cmp_{n % 3}",
                         value=json.dumps(verdict(n, "sxp_disk", 3)).encode())
    assert producer.flush(10) == 0


class Requests:
    """The touch requests on the topic so far, read from the start."""

    def __init__(self, broker: str) -> None:
        self.seen: list[dict] = []
        self._consumer = topic_reader(broker, "outreach.send.requests")

    def until(self, done: object, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done(self.seen):  # type: ignore[operator]
            msg = self._consumer.poll(0.5)
            if msg is not None and not msg.error():
                self.seen.append(json.loads(msg.value()))
        return self.seen

    def close(self) -> None:
        self._consumer.close()


@pytest.mark.parametrize("store", ["rocksdict", "memory"])
async def test_a_restarted_worker_goes_on_from_its_stored_persons(
    broker: str, database_url: str, tmp_path: Path, store: str
) -> None:
    await prepare(Settings(topic_partitions=4), broker, database_url)
    env = {
        "OUTREACH_APP_ID": f"{store}-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "4",
        "OUTREACH_TABLE_STORE": store, "OUTREACH_DATA_DIR": str(tmp_path / "worker"),
        "OUTREACH_CLOCK_SPEED": str(SPEED), "OUTREACH_CLOCK_ANCHOR": str(time.time()),
        "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
        "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        "OUTREACH_SANDBOX_ENGAGEMENT": "false",  # no simulated reply ends a sequence early
        "OUTREACH_AUTO_APPROVE_TIERS": "HOT",
    }
    requests = Requests(broker)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "first.log", env)
    try:
        worker.wait_ready(90)
        publish_verdicts(broker)
        requests.until(lambda seen: len({r["aggregate_id"] for r in seen}) == PEOPLE, 60)
        assert worker.stop() == 0
        stored = list((tmp_path / "worker").rglob("sequencer-people-*.db"))
        assert bool(stored) == (store == "rocksdict"), "table files on disk: only the disk store"
        before = len(requests.seen)
        assert before < PEOPLE * TOUCHES, "sequences finished before the restart"

        worker = WorkerProcess.start(broker, database_url, tmp_path / "second.log", env)
        worker.wait_ready(90)
        publish_verdicts(broker)  # redelivered: the stored persons are enrolled already
        seen = requests.until(lambda seen: len(seen) >= PEOPLE * TOUCHES, 150)
        seen = requests.until(lambda _seen: False, 5)  # and nothing more arrives
    finally:
        worker.stop()
        requests.close()

    if store == "memory":  # the persons came from the bulk load, not from Faust's replay
        loaded = re.findall(r"table sequencer-people: (\d+) changelog records of (\d+) "
                            r"partitions loaded", (tmp_path / "second.log").read_text())
        assert loaded and int(loaded[0][0]) >= PEOPLE and int(loaded[0][1]) == 4, loaded
    per_key = Counter(r["idempotency_key"] for r in seen)
    assert not {k: n for k, n in per_key.items() if n > 1}, "a touch was requested twice"
    per_aggregate: dict[str, list[int]] = {}
    for r in seen:
        per_aggregate.setdefault(r["aggregate_id"], []).append(r["touch_index"])
    assert len(per_aggregate) == PEOPLE
    assert all(sorted(v) == list(range(1, TOUCHES + 1)) for v in per_aggregate.values()), (
        (tmp_path / "second.log").read_text()[-4000:])
