"""A worker running only some stages is ready once it owns its partitions: the readiness probe
of a stage pool without any table (the sink) must not say "starting" for ever."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

pytestmark = pytest.mark.e2e


async def test_a_sink_only_worker_becomes_ready(broker: str, database_url: str,
                                                tmp_path: Path) -> None:
    await prepare(Settings(topic_partitions=2), broker, database_url)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "w.log", {
        "OUTREACH_APP_ID": f"pool-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_STAGES": "sink", "OUTREACH_DATA_DIR": str(tmp_path / "var"),
        "OUTREACH_WEB_HOST": "127.0.0.1"})
    try:
        worker.wait_ready(60)
        health = worker.health()
        assert health is not None and health["assigned_partitions"] > 0
    finally:
        assert worker.stop() == 0
