"""One of two workers SIGKILLed while sequences are due: its partitions move to the survivor,
which settles what the dead one left in flight; nothing lost, nothing twice."""

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


async def test_one_of_two_workers_killed_while_sequences_are_due(
        broker: str, database_url: str, relay: tuple[Relay, int], tmp_path: Path) -> None:
    server, port = relay
    await prepare(Settings(topic_partitions=2), broker, database_url)
    app_id, anchor = new_app_id("pair"), time.time()
    workers = [WorkerProcess.start(broker, database_url, tmp_path / f"worker-{n}.log",
                                   worker_env(tmp_path, app_id, port, n, anchor))
               for n in range(2)]
    try:
        for w in workers:
            w.wait_ready(180)
        batch = publish_leads(broker, "sxp_fault_pair", cards=200, companies=20, seed=11)
        expect = expected_touches(batch)
        deadline = time.monotonic() + 120
        while len(server.message_ids) < expect // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim, survivor = workers
        victim.proc.kill()
        victim.proc.wait(10)
        killed_at, before = time.monotonic(), len(server.message_ids)
        while len(server.message_ids) == before and time.monotonic() - killed_at < 120:
            time.sleep(0.1)
        print(f"\nfirst send after the kill: {time.monotonic() - killed_at:.1f}s")
        rec = await settled(broker, database_url, server, expect, 90, [survivor], app_id)
        assert rec.totals()["requested"] == expect
        assert_reconciled(rec, server)
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait(10)
