"""A campaign approved for 3 sends an hour gets at most 3 touches requested in any UTC hour of
the hub's clock, on the real broker and PostgreSQL, though all its 8 persons are due at once:
the rest wait (counted as `campaign_rate`) and go out in the hours after, none dropped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from agents.campaigns.identity import campaign_id_for
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.test_campaign_launch_e2e import rows, verdict, wait_for

pytestmark = pytest.mark.e2e

SPEED = 360.0  # one wall second is six hub minutes: an hour is ten seconds
COMPANY = "cmp_rate"  # its 8 persons' keys fall 4 and 4 on the two partitions
CAMPAIGN = campaign_id_for(COMPANY, "PERSONALIZED_EMAIL")
PEOPLE = 8
TOKEN = "ann-e2e-0123456789abcdef"


def deferred_for_rate(worker: WorkerProcess) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=2) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("outreach_sequencer_touches_deferred_total{")
               and 'reason="campaign_rate"' in line)


async def test_an_approval_of_3_an_hour_requests_3_an_hour_and_defers_the_rest(
    broker: str, database_url: str, tmp_path: Path
) -> None:
    await prepare(Settings(topic_partitions=2), broker, database_url)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "w.log", {
        "OUTREACH_APP_ID": f"rate-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_CLOCK_SPEED": str(SPEED),
        "OUTREACH_CLOCK_ANCHOR": str(time.time()), "OUTREACH_WINDOW_START_HOUR": "0",
        "OUTREACH_WINDOW_END_HOUR": "24", "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6",
        "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25", "OUTREACH_SANDBOX_ENGAGEMENT": "false",
        "OUTREACH_CAMPAIGN_CHECK_SECONDS": "0.5", "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_OPERATOR_TOKENS": f"ann:{TOKEN}"})
    try:
        worker.wait_ready(90)
        producer = Producer({"bootstrap.servers": broker})
        for n in range(PEOPLE):
            producer.produce("outreach.gate.verdict", key=COMPANY, value=verdict(n, COMPANY))
        assert producer.flush(10) == 0
        await wait_for(database_url, f"SELECT audience FROM outreach.campaigns WHERE "
                       f"campaign_id = '{CAMPAIGN}' AND state = 'draft'",
                       lambda r: r and r[0][0] == PEOPLE, 60)
        time.sleep(2)  # every person enrolled and due, held by the draft

        env = {**os.environ, "OUTREACH_API_URL": f"http://127.0.0.1:{worker.web_port}",
               "OUTREACH_OPERATOR_TOKEN": TOKEN}
        approve = subprocess.run(
            [sys.executable, "-m", "streams.cli", "campaigns", "approve", CAMPAIGN,
             "--operator", "ann", "--max-per-hour", "3"],
            env=env, capture_output=True, text=True, timeout=90)
        assert approve.returncode == 0, approve.stderr
        [terms] = await wait_for(
            database_url, f"SELECT state, max_sends_per_hour FROM outreach.campaigns "
            f"WHERE campaign_id = '{CAMPAIGN}'", lambda r: r and r[0][0] == "active", 30)
        assert terms[1] == 3

        # The first hour's three go at once; the other five wait. Then time moves on (an hour
        # is ten wall seconds) and every deferred touch is requested, three an hour at most.
        await wait_for(database_url, f"SELECT 1 FROM outreach.send_log WHERE campaign_id = "
                       f"'{CAMPAIGN}'", lambda r: len(r) >= 3, 30)
        assert deferred_for_rate(worker) > 0
        await wait_for(database_url, f"SELECT 1 FROM outreach.send_log WHERE campaign_id = "
                       f"'{CAMPAIGN}'", lambda r: len(r) == PEOPLE, 90)
        hours = await rows(database_url, f"SELECT date_trunc('hour', scheduled_at AT TIME ZONE "
                           f"'UTC') AS h, count(*) FROM outreach.send_log WHERE campaign_id = "
                           f"'{CAMPAIGN}' GROUP BY h ORDER BY h")
        per_hour = [n for _h, n in hours]
        print(f"touches requested per hub hour: {per_hour}")  # pytest -s shows the figures
        assert max(per_hour) == 3 and len(per_hour) >= 3, per_hour
        touches = await rows(database_url, f"SELECT DISTINCT touch_index FROM outreach.send_log "
                             f"WHERE campaign_id = '{CAMPAIGN}'")
        assert [t[0] for t in touches] == [1]  # each person's first touch, none twice
    finally:
        assert worker.stop() == 0, (tmp_path / "w.log").read_text()[-3000:]
