"""Two workers of one consumer group, driven from outside with confluent-kafka: a packed
record of lead cards is decided whole on whichever worker owns its partition.

Each worker must know the broker's partition count to check that a pack's cards are at home.
Only the group's leader had it from Faust (aiokafka keeps the group's metadata snapshot on the
leader alone), so the other worker sent every card of its packs on alone, one record each.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from streams.sample import lead_batch
from tests.e2e.topic_reader import topic_records

pytestmark = pytest.mark.e2e

CARDS_TOPIC = "outreach.lead-card.received"


def gate_records(worker: WorkerProcess) -> float:
    """Records the worker's gate has taken, from its /metrics page."""
    url = f"http://127.0.0.1:{worker.web_port}/metrics"
    with urllib.request.urlopen(url, timeout=2) as page:
        for line in page.read().decode().splitlines():
            if line.startswith('outreach_stage_records_total{stage="gate"}'):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def both_settled(workers: list[WorkerProcess], timeout: float) -> None:
    """Until both workers report a partition of their own at once: the group has both."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all((w.health() or {}).get("status") == "ok" for w in workers):
            return
        time.sleep(0.25)
    raise AssertionError("the two workers did not both hold partitions: "
                         + "; ".join(w.log_path.read_text()[-1500:] for w in workers))


async def test_the_packs_of_either_worker_of_a_group_are_decided_where_they_land(
        broker: str, database_url: str, tmp_path: Path) -> None:
    await prepare(Settings(topic_partitions=2), broker, database_url)
    app_id = f"pair-packing-{uuid.uuid4().hex[:8]}"
    workers = [WorkerProcess.start(broker, database_url, tmp_path / f"worker-{n}.log", {
        "OUTREACH_APP_ID": app_id, "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_STAGES": "intake,gate", "OUTREACH_DATA_DIR": str(tmp_path / f"var-{n}")})
        for n in range(2)]
    try:
        both_settled(workers, 180)
        batch = lead_batch(f"sxp_pair_{app_id[-8:]}", cards=120, companies=24)
        producer = Producer({"bootstrap.servers": broker})
        producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                         value=json.dumps(batch).encode())
        assert producer.flush(10) == 0

        # Intake packs the batch's cards one record a partition: both partitions, so both
        # workers, get a pack. Wait until the gates took both packs (and whatever else).
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(map(gate_records, workers)) < 2:
            time.sleep(0.25)
        assert sum(map(gate_records, workers)) >= 2
        records = topic_records(broker, CARDS_TOPIC)
    finally:
        for w in workers:
            assert w.stop() == 0
    packs = [r for r in records if r.get("type") == "lead_cards"]
    alone = [r for r in records if r.get("type") != "lead_cards"]
    assert len(packs) == 2, [len(r.get("cards", ())) for r in packs]
    assert sum(len(p["cards"]) for p in packs) > 60  # the batch's cards, a few held back
    assert alone == [], f"{len(alone)} cards sent on alone"
