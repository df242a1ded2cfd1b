"""A 10,000-card lead batch (~6.6 MB, one record) published with `outreach-hub produce` reaches
the intake and the durable record: the producer's and the topic's size limits come from
topics.yaml, not from the clients' 1 MB defaults."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import orjson
import pytest

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from streams.sample import lead_batch

pytestmark = pytest.mark.e2e

CARDS = 10_000


async def test_a_10000_card_batch_is_published_and_consumed(
    broker: str, database_url: str, tmp_path: Path
) -> None:
    await prepare(Settings(topic_partitions=1), broker, database_url)
    # Intake and the sink are the stages that read the batch and write what a user looks at.
    worker = WorkerProcess.start(broker, database_url, tmp_path / "worker.log", {
        "OUTREACH_APP_ID": f"big-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "1",
        "OUTREACH_STAGES": "intake,sink", "OUTREACH_DATA_DIR": str(tmp_path / "var")})
    try:
        batch = lead_batch("sxp_big_001", cards=CARDS, companies=40)
        path = tmp_path / "batch.json"
        path.write_bytes(orjson.dumps(batch))
        assert path.stat().st_size > 6_000_000
        env = {**os.environ, "OUTREACH_KAFKA_BOOTSTRAP": broker}
        done = subprocess.run(
            [sys.executable, "-m", "streams.cli", "produce", "social-xpress.lead-batch.ready",
             str(path)], env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert b"published 1 message(s)" in done.stdout

        worker.wait_ready(90)
        row, cards = None, 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (row and cards == row["cards_total"]):
            conn = await asyncpg.connect(database_url)
            try:
                row = await conn.fetchrow("SELECT status, cards_total FROM outreach.audit_log "
                                          "WHERE batch_id = 'sxp_big_001'")
                cards = await conn.fetchval("SELECT count(*) FROM outreach.lead_cards "
                                            "WHERE batch_id = 'sxp_big_001'")
            finally:
                await conn.close()
            time.sleep(0.5)
        assert row is not None, (tmp_path / "worker.log").read_text()[-3000:]
        assert row["cards_total"] == CARDS
        assert cards == CARDS
    finally:
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]
