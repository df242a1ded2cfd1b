"""`outreach-hub reconcile` on the real broker and PostgreSQL: it reads what the topics hold
and exits non-zero when a card is lost or a touch was sent twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.kernel.settings import Settings
from streams.runtime import prepare

pytestmark = pytest.mark.integration


def reconcile(bootstrap: str, database_url: str, *extra: str) -> tuple[int, Any, str]:
    env = {**os.environ, "OUTREACH_KAFKA_BOOTSTRAP": bootstrap,
           "OUTREACH_DATABASE_URL": database_url, "OUTREACH_TOPIC_PARTITIONS": "2"}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "reconcile", *extra],
                          env=env, capture_output=True, timeout=120, check=False)
    out = orjson.loads(done.stdout) if "--json" in extra and done.stdout else done.stdout
    return done.returncode, out, done.stderr.decode()


async def test_reconcile_counts_the_topics_and_flags_a_lost_card_and_a_key_sent_twice(
        broker: str, database_url: str, tmp_path: Path) -> None:
    await prepare(Settings(topic_partitions=2), broker, database_url)
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()

    async def put(topic: str, key: str, value: dict[str, Any]) -> None:
        await producer.send_and_wait(topic, orjson.dumps(value), key=key.encode())

    try:
        envelope = {"batch_id": "b1", "records": [{"lead_id": "l1"}, {"lead_id": "l2"}]}
        for _ in range(3):  # the same batch published three times
            await put("social-xpress.lead-batch.ready", "b1", envelope)
        await put("outreach.lead-card.received", "c",
                  {"batch_id": "b1", "lead_id": "l1", "disposition": "FORWARDED"})
        await put("outreach.gate.verdict", "c", {"batch_id": "b1", "lead_id": "l1"})
        await put("outreach.send.requests", "p", {"idempotency_key": "k1", "campaign_id": "c1"})
        for _ in range(2):
            await put("outreach.send.events", "p", {"idempotency_key": "k1", "status": "sent",
                                                    "provider_message_id": "m1@x"})
    finally:
        await producer.stop()

    code, out, err = reconcile(broker, database_url, "--json")
    assert code == 1, err
    assert out["batches"]["b1"] == {"published": 2, "accounted": 1, "verdict": 1,
                                    "dead_letter": 0, "waiting": 0, "lost": 1,
                                    "db_cards": None, "db_verdicts": None}
    assert out["campaigns"]["c1"]["sent"] == 1 and out["twice"] == []

    ids = tmp_path / "message-ids.txt"
    ids.write_text("<m1@x>\n<m1@x>\n")
    code, text, _ = reconcile(broker, database_url, "--smtp-message-ids", str(ids))
    assert code == 1 and b"twice: k1" in text and b"NOT RECONCILED" in text


async def test_reconcile_of_a_hub_that_goes_on_writing_reads_a_snapshot_and_ends(
        broker: str, database_url: str) -> None:
    # Before: the read went on while records kept coming, and timed out after 120 s.
    await prepare(Settings(topic_partitions=2), broker, database_url)
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    writing = True

    async def keep_writing() -> int:
        n = 0
        while writing:
            n += 1
            await producer.send_and_wait(
                "outreach.send.requests", orjson.dumps(
                    {"idempotency_key": f"live-{n}", "campaign_id": "live"}), key=b"p")
            await asyncio.sleep(0.005)
        return n

    writer = asyncio.create_task(keep_writing())
    try:
        await asyncio.sleep(1.0)  # records before the read begins
        started = time.monotonic()
        code, out, err = await asyncio.to_thread(reconcile, broker, database_url, "--json")
        took = time.monotonic() - started
    finally:
        writing = False
        written = await writer
        await producer.stop()
    assert code == 1, err  # the live requests have no sends yet: unresolved, not an error
    assert took < 60, took
    requested = out["campaigns"]["live"]["requested"]
    assert 0 < requested < written  # what was there when it read, not what came after
