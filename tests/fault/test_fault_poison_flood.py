"""A poison flood (garbage bytes, empty records, 5 MB records, wrong JSON types, deep
nesting, a huge batch of invalid cards) mixed into good traffic: the good records still flow,
every unreadable record is dead-lettered, and the worker's RSS stays bounded."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import orjson
import psutil
import pytest
from confluent_kafka import Producer
from fault_harness import (
    Relay,
    assert_reconciled,
    expected_touches,
    new_app_id,
    publish_leads,
    settled,
    worker_env,
)

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

pytestmark = [pytest.mark.fault, pytest.mark.timeout(420)]

TOPICS = ("social-xpress.lead-batch.ready", "email-provider.events", "outreach.send.requests")


def poison() -> list[bytes]:
    deep = b"[" * 100_000 + b"]" * 100_000
    wrong = [orjson.dumps(v) for v in (
        {"batch_id": 5, "records": "x"}, {"batch_id": "p", "records": {"a": 1}}, [1, 2, 3],
        "a string", 42, None, {"provider": ["x"], "type": {}}, {"idempotency_key": 7})]
    return ([os.urandom(64) for _ in range(100)] + [b""] * 100 + wrong * 25 + [deep] * 10
            + [os.urandom(5 * 1024 * 1024)] * 2)


def huge_batch() -> bytes:
    return orjson.dumps({
        "batch_id": "sxp_poison_huge", "schema_version": "v1",
        "created_at": "2026-11-25T09:00:00Z", "source": "social-xpress-engine",
        "target": "nextier-execution",
        "records": [{"lead_id": f"bad-{i}", "username": ["not", "a", "string"]}
                    for i in range(1000)]})


async def test_poison_flood_mixed_into_good_traffic(
        broker: str, database_url: str, relay: tuple[Relay, int], tmp_path: Path) -> None:
    server, port = relay
    await prepare(Settings(topic_partitions=2), broker, database_url)
    env = worker_env(tmp_path, new_app_id("poison"), port)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "worker.log", env)
    rss: list[int] = []
    stop = threading.Event()

    def sample_rss() -> None:
        proc = psutil.Process(worker.proc.pid)
        while not stop.is_set() and worker.proc.poll() is None:
            rss.append(proc.memory_info().rss)
            time.sleep(0.5)

    try:
        worker.wait_ready(120)
        baseline = psutil.Process(worker.proc.pid).memory_info().rss
        threading.Thread(target=sample_rss, daemon=True).start()
        producer = Producer({"bootstrap.servers": broker, "message.max.bytes": 16_000_000})
        bad = poison()
        batch = publish_leads(broker, "sxp_fault_poison", cards=200, companies=20, seed=17)
        for n, value in enumerate(bad):
            producer.produce(TOPICS[n % len(TOPICS)], key=b"poison", value=value)
            producer.poll(0)
        producer.produce(TOPICS[0], key=b"sxp_poison_huge", value=huge_batch())
        assert producer.flush(60) == 0
        expect = expected_touches(batch)
        rec = await settled(broker, database_url, server, expect, 300, [worker])
        stop.set()
        peak = max(rss)
        print(f"poison records {len(bad) + 1}; RSS before {baseline / 2**20:.0f} MiB, "
              f"peak {peak / 2**20:.0f} MiB")
        assert rec.totals()["requested"] == expect
        assert_reconciled(rec, server)
        assert rec.unreadable_published > 0
        assert rec.unreadable_dead_lettered == rec.unreadable_published
        assert rec.batches["sxp_poison_huge"].dead_letter == 1000
        assert peak < baseline + 600 * 2**20
    finally:
        stop.set()
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(10)
