"""The SMTP server answers 4xx for a while, then 5xx for some addresses: transient refusals
are retried (the same message), permanent ones record OUT-003, nothing is sent twice."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import asyncpg
import pytest
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

pytestmark = [pytest.mark.fault, pytest.mark.timeout(360)]

TRANSIENT_S = 4.0


def unknown_user(address: str) -> bool:
    return hashlib.sha256(address.encode()).digest()[0] % 6 == 0


def refusing() -> tuple[object, list[float]]:
    started: list[float] = []
    lock = threading.Lock()

    def answer(to: str) -> str | None:
        with lock:
            if not started:
                started.append(time.monotonic())
        if time.monotonic() - started[0] < TRANSIENT_S:
            return "451 4.3.0 Mail server temporarily rejected message"
        if unknown_user(to):
            return "550 5.1.1 Recipient address rejected: User unknown"
        return None

    return answer, started


async def test_4xx_then_5xx_retries_records_out_003_and_sends_nothing_twice(
        broker: str, database_url: str, relay: tuple[Relay, int], tmp_path: Path) -> None:
    server, port = relay
    server.answer, _ = refusing()  # type: ignore[assignment]
    await prepare(Settings(topic_partitions=2), broker, database_url)
    env = worker_env(tmp_path, new_app_id("refuse"), port)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "worker.log", env)
    try:
        worker.wait_ready(120)
        batch = publish_leads(broker, "sxp_fault_refuse", cards=80, companies=10, seed=5)
        expect = expected_touches(batch)
        rec = await settled(broker, database_url, server, expect, 240, [worker])
        t = rec.totals()
        print(f"expected touches {expect}; refusals 4xx={server.refusals.count('451')} "
              f"5xx={server.refusals.count('550')}")
        assert t["requested"] == expect
        assert_reconciled(rec, server)
        assert server.refusals.count("451") > 0 and t["failed"] > 0
        conn = await asyncpg.connect(database_url)
        try:
            out_003 = await conn.fetchval(
                "SELECT count(*) FROM outreach.outreach_errors WHERE code = 'OUT-003'")
        finally:
            await conn.close()
        assert out_003 == t["failed"]
    finally:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(10)
