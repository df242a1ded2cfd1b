"""The review desk in a real browser (Debian's chromium under Selenium) against a running
worker on the real broker and PostgreSQL, as a reviewer meets it: a lead batch makes a draft
campaign wait; the reviewer logs in, finds the draft, previews a touch rendered for one of its
real persons, approves it, sees it become active and its sends rise, and once logged out is
refused again.

The screenshots in docs/screenshots are this test's (OUTREACH_WRITE_SCREENSHOTS=1).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from confluent_kafka import Producer

from agents.campaigns.identity import campaign_id_for
from streams.embedded import EmbeddedBroker
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.browser import chromium, require_chromium, screenshot_dir, shoot, until
from tests.e2e.test_intake_gate_e2e import SCORES, card, good_batch, score

pytestmark = pytest.mark.e2e

TOKEN = "ann-desk-e2e-0123456789abcdef"
COMPANY = "cmp_harbor"
COMPANY_NAME = "Harbor Light Roofing"
HARBOR = campaign_id_for(COMPANY, "PERSONALIZED_EMAIL")
PEOPLE = (("Marisol", "Okafor", "Owner"), ("Ingrid", "Halvorsen", "Operations Director"),
          ("Tomasz", "Wierzbicki", "General Manager"), ("Aiyana", "Castellanos", "Founder"))


def harbor_batch() -> dict[str, Any]:
    """One HOT company's people, each with a name the preview must show."""
    records = [card(f"l-harbor-{n}", COMPANY, company_name=COMPANY_NAME, contact={
        "email": f"{first.lower()}.{last.lower()}@cmp-harbor.example", "email_verified": True,
        "first_name": first, "last_name": last, "title": title, "timezone": "America/Chicago"})
        for n, (first, last, title) in enumerate(PEOPLE)]
    return {**good_batch("sxp_desk_harbor"), "records": records}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    b = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    yield b.bootstrap
    b.stop()


@pytest.fixture
async def worker(broker: str, database_url: str, tmp_path: Path
                 ) -> AsyncIterator[WorkerProcess]:
    require_chromium()  # before the worker: a skip costs nothing
    await prepare(Settings(topic_partitions=2), broker, database_url)
    log = tmp_path / "worker.log"
    proc = WorkerProcess.start(broker, database_url, log, {
        "OUTREACH_APP_ID": f"desk-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_OPERATOR_TOKENS": f"ann:{TOKEN}",
        # Any hour, any day: the sends after the approval do not wait for a window.
        "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
        "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        # A person held by the draft is looked at again this soon after the approval.
        "OUTREACH_SEQUENCER_CAMPAIGN_RECHECK_SECONDS": "2",
        "OUTREACH_CAMPAIGN_CHECK_SECONDS": "0.5", "OUTREACH_SANDBOX_ENGAGEMENT": "false",
        "OUTREACH_GATE_MAX_WAIT_SECONDS": "600"})
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()[-3000:]
        assert TOKEN not in log.read_text()


def publish(broker: str) -> None:
    producer = Producer({"bootstrap.servers": broker})
    for company, value in {**SCORES, "cmp_late": 55, COMPANY: 62}.items():
        producer.produce("bit-engine.score.evaluated", key=company, value=score(company, value))
    for batch in (good_batch("sxp_desk_mixed"), harbor_batch()):
        producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                         value=json.dumps(batch).encode())
    assert producer.flush(10) == 0


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def wait_rows(url: str, sql: str, ok: Any, seconds: float) -> list[asyncpg.Record]:
    deadline, found = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        found = await fetch(url, sql)
        if ok(found):
            return found
        time.sleep(0.3)
    raise AssertionError(f"not reached within {seconds}s: {sql} -> {found}")


async def test_the_browser_reads_the_worker_port(
    worker: WorkerProcess, broker: str, database_url: str, tmp_path: Path
) -> None:
    publish(broker)
    await wait_rows(database_url, f"SELECT audience FROM outreach.campaigns WHERE campaign_id "
                    f"= '{HARBOR}' AND state = 'draft'", lambda r: r and r[0][0] == 4, 60)
    shots = screenshot_dir(tmp_path)
    base = f"http://127.0.0.1:{worker.web_port}"
    with chromium() as browser:
        browser.get(f"{base}/metrics")
        until("the draft's enrolments on /metrics",
              lambda: "outreach_sequencer_enrollments_total" in browser.page_source, 20,
              between=browser.refresh)
        assert shoot(browser, shots, "metrics").stat().st_size > 1000
