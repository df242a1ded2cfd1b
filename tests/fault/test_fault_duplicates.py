"""The same lead batch published three times, the provider's webhooks delivered twice and out
of order (opened before delivered): every card once, every touch once, every event once."""

from __future__ import annotations

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


async def test_a_batch_three_times_and_webhooks_twice_out_of_order_change_nothing(
        broker: str, database_url: str, relay: tuple[Relay, int], tmp_path: Path) -> None:
    server, port = relay
    server.webhooks = 2
    await prepare(Settings(topic_partitions=2), broker, database_url)
    env = worker_env(tmp_path, new_app_id("dupes"), port)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "worker.log", env)
    try:
        worker.wait_ready(120)
        batch = publish_leads(broker, "sxp_fault_dupes", cards=80, companies=10, times=3,
                              seed=9)
        expect = expected_touches(batch)
        rec = await settled(broker, database_url, server, expect, 240, [worker])
        t = rec.totals()
        assert t["requested"] == expect and t["published"] == 80
        assert_reconciled(rec, server)
        conn = await asyncpg.connect(database_url)
        try:
            # The events of the last sends may still be on their way to the table.
            deadline = time.monotonic() + 60
            while True:
                rows = await conn.fetch(
                    "SELECT type, count(*) AS n, count(DISTINCT provider_message_id) AS m "
                    "FROM outreach.engagement_events GROUP BY 1")
                if time.monotonic() > deadline or (all(
                        r["n"] >= t["sent"] for r in rows) and len(rows) == 2):
                    break
                time.sleep(0.5)
            cards = await conn.fetchval("SELECT count(*) FROM outreach.lead_cards")
            audits = await conn.fetchval("SELECT count(*) FROM outreach.audit_log")
        finally:
            await conn.close()
        events = {r["type"]: (r["n"], r["m"]) for r in rows}
        print(f"engagement rows {events}; cards {cards}; audit rows {audits}")
        assert events["opened"] == (t["sent"], t["sent"])
        assert events["delivered"] == (t["sent"], t["sent"])
        assert cards == 80 and audits == 1
    finally:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(10)
