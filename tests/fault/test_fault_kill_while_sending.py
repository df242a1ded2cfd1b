"""The worker SIGKILLed three times while it sends, restarted each time: every touch is sent
exactly once (the reconciliation and the SMTP server agree), none lost, none twice."""

from __future__ import annotations

import time
from pathlib import Path

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

pytestmark = [pytest.mark.fault, pytest.mark.timeout(420)]


async def test_sigkill_three_times_while_sending(
        broker: str, database_url: str, relay: tuple[Relay, int], tmp_path: Path) -> None:
    server, port = relay
    await prepare(Settings(topic_partitions=2), broker, database_url)
    app_id = new_app_id("kill")
    env = worker_env(tmp_path, app_id, port)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "worker-0.log", env)
    workers = [worker]
    ready: list[float] = []
    try:
        worker.wait_ready(120)
        batch = publish_leads(broker, "sxp_fault_kill", cards=200, companies=20)
        expect = expected_touches(batch)
        for n, at in enumerate((60, 250, 450), start=1):
            deadline = time.monotonic() + 120
            while len(server.message_ids) < at and time.monotonic() < deadline:
                assert worker.proc.poll() is None, worker.log_path.read_text()[-3000:]
                time.sleep(0.05)
            worker.proc.kill()  # SIGKILL, mid-send
            worker.proc.wait(10)
            worker = WorkerProcess.start(broker, database_url, tmp_path / f"worker-{n}.log", env)
            workers = [worker]
            ready.append(worker.wait_ready(180))
        print(f"\nrestart-to-ready after SIGKILL: {', '.join(f'{r:.1f}s' for r in ready)}")
        rec = await settled(broker, database_url, server, expect, 240, workers, app_id)
        print(f"expected touches {expect}; SMTP server received {len(server.message_ids)}")
        assert rec.totals()["requested"] == expect
        assert_reconciled(rec, server)
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(10)
