"""PostgreSQL stopped for 30 s while events flow, then started again on the same data
directory: the stages go on (they need only the broker), the sink waits and catches up; the
database ends with every card, verdict and send, none twice."""

from __future__ import annotations

import shutil
import tempfile
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

from streams.embedded import EmbeddedPostgres
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

pytestmark = [pytest.mark.fault, pytest.mark.timeout(420)]

OUTAGE_S = 30.0


async def test_postgres_stopped_30s_while_events_flow(
        broker: str, relay: tuple[Relay, int], tmp_path: Path) -> None:
    server, port = relay
    # Its own PostgreSQL, outside pytest's basetemp (0700: pgserver's user could not enter).
    data = Path(tempfile.mkdtemp(prefix="outreach-fault-pg-"))
    pg = EmbeddedPostgres(data).start()
    database_url = pg.url
    worker = None
    try:
        await prepare(Settings(topic_partitions=2), broker, database_url)
        env = worker_env(tmp_path, new_app_id("pgdown"), port)
        worker = WorkerProcess.start(broker, database_url, tmp_path / "worker.log", env)
        worker.wait_ready(120)
        batch = publish_leads(broker, "sxp_fault_pgdown", cards=200, companies=20, seed=13)
        expect = expected_touches(batch)
        deadline = time.monotonic() + 120
        while len(server.message_ids) < expect // 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        pg.stop()
        before = len(server.message_ids)
        time.sleep(OUTAGE_S)
        during = len(server.message_ids) - before
        pg = EmbeddedPostgres(data).start()
        assert pg.url == database_url  # the same socket, the same data
        print(f"\nsent during the {OUTAGE_S:.0f}s outage: {during}")
        assert during > 0  # sending does not need PostgreSQL
        rec = await settled(broker, database_url, server, expect, 240, [worker])
        assert rec.totals()["requested"] == expect
        assert_reconciled(rec, server)
        assert all(b.db_cards == b.published for b in rec.batches.values())
        assert all(c.db_sent == c.sent for c in rec.campaigns.values())
    finally:
        if worker is not None and worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(10)
        pg.stop()
        shutil.rmtree(data, ignore_errors=True)
