"""Two workers, a rebalance in the middle of running sequences: every due touch is requested
exactly once, none is lost. Driven from outside with confluent-kafka; hub time accelerated."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from confluent_kafka import Producer

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

PEOPLE = 24
TOUCHES = 5  # PERSONALIZED_EMAIL: 5 emails, 3 days apart: 12 hub days
SPEED = 30_000.0  # 12 hub days in about 35 wall seconds


def verdict(n: int, batch: str = "sxp_rebalance", companies: int = 5) -> dict:
    """An ALLOW verdict for person n, of one of `companies` companies."""
    return {
        "event_id": f"verdict-{n}", "occurred_at": "2026-11-23T12:00:00Z",
        "correlation_id": f"corr-{n}",
        "process_id": "outreach-execution-campaign-20261123-0a1b2c3d",
        "lead_id": f"lead-{n}", "batch_id": batch, "company_sov_id": f"cmp_{n % companies}",
        "bit_score": 66, "score_evaluated_at": "2026-11-23T11:00:00Z", "verdict": "ALLOW",
        "tier": "HOT", "strategy": "PERSONALIZED_EMAIL", "reasons": [], "error_code": None,
        "company_name": f"Company {n % companies}",
        "contact": {"email": f"person{n}@company{n % companies}.example", "email_verified": True,
                    "timezone": "America/Chicago", "first_name": f"Pat{n}", "last_name": "Lee",
                    "title": "Owner"},
    }


async def sequences_done(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'completed') AS done, count(*) AS total "
            "FROM outreach.sequences")
    finally:
        await conn.close()
    return int(row["done"]), int(row["total"])


async def test_each_due_touch_is_requested_once_through_rebalances(
    broker: str, database_url: str, tmp_path: Path
) -> None:
    await prepare(Settings(topic_partitions=4), broker, database_url)
    env = {
        "OUTREACH_APP_ID": f"rebalance-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "4",
        "OUTREACH_CLOCK_SPEED": str(SPEED), "OUTREACH_CLOCK_ANCHOR": str(time.time()),
        "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
        "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        # Delivered and nothing else: no simulated reply may end a sequence early here.
        "OUTREACH_SANDBOX_ENGAGEMENT": "false",
        "OUTREACH_AUTO_APPROVE_TIERS": "HOT",  # nothing is sent for an unapproved campaign
    }
    first = WorkerProcess.start(broker, database_url, tmp_path / "a.log",
                                {**env, "OUTREACH_DATA_DIR": str(tmp_path / "a")})
    second = None
    try:
        first.wait_ready(90)
        producer = Producer({"bootstrap.servers": broker})
        for n in range(PEOPLE):
            producer.produce("outreach.gate.verdict", key=f"cmp_{n % 5}",
                             value=json.dumps(verdict(n)).encode())
        assert producer.flush(10) == 0

        time.sleep(6)  # sequences are running: about 2 hub days in
        second = WorkerProcess.start(broker, database_url, tmp_path / "b.log",
                                     {**env, "OUTREACH_DATA_DIR": str(tmp_path / "b")})
        second.wait_ready(90)  # the group rebalanced: partitions moved to the new worker
        time.sleep(6)
        assert first.stop() == 0  # and back: the first worker leaves mid-sequence

        deadline = time.monotonic() + 150
        done = total = 0
        while time.monotonic() < deadline:
            done, total = await sequences_done(database_url)
            if total == PEOPLE and done == PEOPLE:
                break
            time.sleep(1)
        assert (done, total) == (PEOPLE, PEOPLE), (tmp_path / "b.log").read_text()[-4000:]
    finally:
        if second is not None:
            second.stop()
        first.stop()

    consumer = topic_reader(broker, "outreach.send.requests")
    requests: list[dict] = []
    deadline = time.monotonic() + 30
    idle = 0
    while time.monotonic() < deadline and idle < 6:
        msg = consumer.poll(0.5)
        if msg is None or msg.error():
            idle += 1 if len(requests) >= PEOPLE * TOUCHES else 0
            continue
        requests.append(json.loads(msg.value()))
    consumer.close()

    per_key = Counter(r["idempotency_key"] for r in requests)
    duplicates = {k: n for k, n in per_key.items() if n > 1}
    assert not duplicates, f"touches requested more than once: {duplicates}"
    assert len(per_key) == PEOPLE * TOUCHES
    per_aggregate: dict[str, list[int]] = {}
    for r in requests:
        per_aggregate.setdefault(r["aggregate_id"], []).append(r["touch_index"])
    assert len(per_aggregate) == PEOPLE
    assert all(sorted(v) == list(range(1, TOUCHES + 1)) for v in per_aggregate.values())
    # Spacing survives the moves: no two touches of one person closer than 3 hub days.
    for agg in per_aggregate:
        times = sorted(r["occurred_at"] for r in requests if r["aggregate_id"] == agg)
        stamps = [time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) for t in times]
        assert all(b - a >= 3 * 86400 - 1 for a, b in itertools.pairwise(stamps))
