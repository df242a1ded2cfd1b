"""The worker's web port as an operator and an email's recipient meet it: where it listens,
what Prometheus scrapes from it (every catalogued metric, after a little traffic), and where
the calendar link of an email takes a person.

One worker (every stage) serves all the tests of this module. Its sandbox provider delivers
and simulates no engagement: the engagement a test needs, it publishes itself.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import psutil
import pytest
from confluent_kafka import Producer
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from test_intake_gate_e2e import good_batch, score, wait_for

from agents.sender.calendar_link import sign
from streams.kernel import metrics
from streams.kernel.catalogue import catalogue
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

SECRET = "e2e-calendar-secret-0123456789abcd"
BOOKING = "https://book.example.com/meet?team=sales"
AGGREGATE = f"seq-e2e-1:{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def broker(module_broker: str) -> str:
    return module_broker  # one broker for the module's worker and its tests




@pytest.fixture(scope="module")
async def worker(broker: str, module_database: str, module_tmp: Path
                 ) -> AsyncIterator[WorkerProcess]:
    await prepare(Settings(topic_partitions=2), broker, module_database)
    log = module_tmp / "worker.log"
    proc = WorkerProcess.start(broker, module_database, log, {
        "OUTREACH_APP_ID": f"web-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(module_tmp / "var"), "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_CALENDAR_SECRET": SECRET, "OUTREACH_BOOKING_URL": BOOKING,
        "OUTREACH_SANDBOX_ENGAGEMENT": "false", "OUTREACH_WINDOW_START_HOUR": "0",
        "OUTREACH_WINDOW_END_HOUR": "24", "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6",
        # The flow below sends: the approval policy approves its campaigns.
        "OUTREACH_AUTO_APPROVE_TIERS": "HOT,BURNING"})
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()[-3000:]


def request(worker: WorkerProcess, target: str, method: str = "GET"
            ) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed (the answer itself is under test)."""
    conn = http.client.HTTPConnection("127.0.0.1", worker.web_port, timeout=10)
    try:
        conn.request(method, target)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_the_web_port_listens_only_where_the_setting_says(worker: WorkerProcess) -> None:
    process = psutil.Process(worker.proc.pid)
    listening = {c.laddr.ip for p in (process, *process.children(recursive=True))
                 for c in p.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == worker.web_port}
    assert listening == {"127.0.0.1"}


def scrape(worker: WorkerProcess) -> dict[str, Any]:
    status, headers, body = request(worker, "/metrics")
    assert status == 200, body[:500]
    assert headers["Content-Type"] == CONTENT_TYPE_LATEST
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def sample(families: dict[str, Any], family: str, **labels: str) -> float:
    return sum(s.value for s in families[family].samples
               if s.name.endswith("_total") and labels.items() <= s.labels.items())


def test_metrics_scrape_serves_the_hubs_metrics(worker: WorkerProcess) -> None:
    families = scrape(worker)
    declared = {f.name for f in metrics.REGISTRY.collect()}
    assert declared and declared <= set(families)


def link(expires: datetime) -> str:
    return sign(AGGREGATE, "cmp_e2e", expires, SECRET.encode(), base_url="/calendar/book")


def provider_events(broker: str, expected: int, timeout: float = 20) -> list[dict[str, Any]]:
    consumer = topic_reader(broker, "email-provider.events")
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        # Past `expected`, keep reading a little: one record too many must show.
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                out.append(json.loads(msg.value()))
            elif len(out) >= expected:
                break
    finally:
        consumer.close()
    return out


async def test_calendar_link_redirects_a_good_click_and_records_it_once(
    worker: WorkerProcess, broker: str, module_database: str
) -> None:
    good = link(datetime.now(UTC) + timedelta(days=30))
    forged = good.replace("oid=cmp_e2e", "oid=cmp_other")
    expired = link(datetime.now(UTC) - timedelta(minutes=1))

    # Refused links first: anything they published would be on the topic before the clicks.
    for target, status in ((forged, 400), (expired, 410), ("/calendar/book", 400)):
        code, headers, body = request(worker, target)
        assert code == status, body[:500]
        assert "Location" not in headers
        assert headers["Content-Type"].startswith("text/html")
        assert b"<h1>" in body
    code, headers, _ = request(worker, good, method="HEAD")  # a link checker records nothing
    assert code == 303

    for _ in range(2):  # the person clicks twice
        code, headers, _ = request(worker, good)
        assert code == 303
        location = headers["Location"]
        assert location.startswith(BOOKING + "&")
        assert {k: v for k, v in parse_qs(urlsplit(location).query).items() if k != "team"} \
            == parse_qs(urlsplit(good).query)

    events = provider_events(broker, expected=2)
    assert [(e["provider"], e["type"], e["aggregate_id"]) for e in events] == [
        ("hub", "clicked", AGGREGATE)] * 2
    assert len({e["provider_event_id"] for e in events}) == 1

    # Engagement applies the click once (the second is a duplicate): one row, no meeting.
    deadline = time.monotonic() + 30
    families = scrape(worker)
    while time.monotonic() < deadline and sample(
            families, "outreach_engagement_events", type="clicked", outcome="duplicate") < 1:
        await asyncio.sleep(0.3)
        families = scrape(worker)
    assert sample(families, "outreach_engagement_events", type="clicked", outcome="applied") == 1
    assert sample(families, "outreach_engagement_events", type="clicked",
                  outcome="duplicate") == 1
    assert sample(families, "outreach_engagement_events", type="meeting_booked") == 0

    conn = await asyncpg.connect(module_database)
    try:
        rows: list[Any] = []
        while time.monotonic() < deadline and not rows:
            rows = await conn.fetch("SELECT type FROM outreach.engagement_events "
                                    "WHERE aggregate_id = $1", AGGREGATE)
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    assert [r["type"] for r in rows] == ["clicked"]


def test_a_webhook_of_a_provider_without_a_key_is_refused(worker: WorkerProcess) -> None:
    # No provider key is set on this worker: nothing is ever taken unsigned.
    for provider in ("sendgrid", "mailgun", "ses", "postmark"):
        code, _, body = request(worker, f"/webhooks/{provider}", method="POST")
        assert (code, json.loads(body)) == (404, {"status": "not configured"}), provider


# Labelled families the small flow below cannot move: each needs a rare event (a failure, a
# stale command, a full cap). "Present" for them is their HELP/TYPE in the scrape (declared on
# the worker's registry, ready for the first sample); every other family must have a sample.
RARE = {
    "outreach_sequencer_commands_refused",  # a stale compare-and-set command
    "outreach_sequencer_touches_deferred",  # a closed window or a spent daily cap
    "outreach_campaign_health_verdicts",  # a verdict needs OUTREACH_HEALTH_MIN_SENDS sends
}


def samples(families: dict[str, Any], family: str) -> list[Any]:
    return [s for s in families[family].samples if not s.name.endswith("_created")]


async def wait_scraped(worker: WorkerProcess, ready: Any, what: str, timeout: float = 60
                       ) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    families = scrape(worker)
    while not ready(families):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: " + str({
            f: [(x.labels, x.value) for x in samples(families, f) if x.name.endswith("_total")]
            for f in ("outreach_sender_requests", "outreach_sequencer_touches_requested",
                      "outreach_sequencer_touches_deferred", "outreach_dead_letters",
                      "outreach_events_emitted", "outreach_stage_records")
            if f in families})
        await asyncio.sleep(0.5)
        families = scrape(worker)
    return families


async def test_after_a_little_traffic_every_catalogued_metric_is_scraped(
    worker: WorkerProcess, broker: str, module_database: str
) -> None:
    producer = Producer({"bootstrap.servers": broker})
    for company, value in (("cmp_hot", 60), ("cmp_burn", 80)):
        producer.produce("bit-engine.score.evaluated", key=company, value=score(company, value))
    batch = good_batch("sxp_metrics_001")  # two leads allowed, others blocked, one invalid card
    producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                     value=json.dumps(batch).encode())
    assert producer.flush(10) == 0

    def sent(families: dict[str, Any]) -> bool:
        return sample(families, "outreach_engagement_sends") >= 2
    # The persons enrolled before their campaign was approved are looked at again within
    # OUTREACH_SEQUENCER_CAMPAIGN_RECHECK_SECONDS (60 hub seconds = wall seconds here).
    await wait_scraped(worker, sent, "two emails sent", timeout=150)
    # The engagement stage counts a send as it reads the send event; the sink writes its row on
    # its own consumer, so the row may land a moment after the count.
    await wait_for(module_database, "SELECT count(DISTINCT aggregate_id) FROM outreach.send_log "
                   "WHERE status = 'sent'", 2, timeout=30)
    conn = await asyncpg.connect(module_database)
    try:
        aggregates = [r["aggregate_id"] for r in await conn.fetch(
            "SELECT DISTINCT aggregate_id FROM outreach.send_log WHERE status = 'sent'")]
    finally:
        await conn.close()
    assert len(aggregates) == 2
    # Each person opens; one replies (which ends that sequence).
    for n, (aggregate, kind) in enumerate(
            [(aggregates[0], "opened"), (aggregates[1], "opened"), (aggregates[1], "replied")]):
        event = {"provider": "hub", "provider_event_id": f"metrics-{n}", "type": kind,
                 "occurred_at": datetime.now(UTC).isoformat(), "aggregate_id": aggregate}
        producer.produce("email-provider.events", key=aggregate, value=json.dumps(event).encode())
    assert producer.flush(10) == 0

    def engaged(families: dict[str, Any]) -> bool:
        return (sample(families, "outreach_engagement_opens") >= 2
                and sample(families, "outreach_engagement_replies") >= 1
                and sample(families, "outreach_sequencer_sequences_ended", status="stopped") >= 1
                and bool(samples(families, "outreach_consumer_lag")))
    families = await wait_scraped(worker, engaged, "the opens, a stop on the reply, a lag sample")

    entries = catalogue()
    missing = [e.family for e in entries if e.family not in families]
    assert not missing, f"catalogued but not served: {missing}"
    silent = [e.family for e in entries
              if e.labels and e.family not in RARE and not samples(families, e.family)]
    assert not silent, f"no sample after the flow: {silent}"
    assert not [e.family for e in entries if not e.labels and not samples(families, e.family)]
    # What the worker's memory is held by: glibc's heap (the tests run the memory store).
    held = {s.labels["part"]: s.value for s in samples(families, "outreach_memory_bytes")}
    assert held.get("malloc_in_use", 0) > 10 * 2**20

    # The figures say what happened: ENGAGEMENT_RATE's terms, in PromQL's hands.
    # Summed over the two campaigns (HOT and BURNING run different sequence definitions).
    assert sample(families, "outreach_engagement_sends") == 2
    assert sample(families, "outreach_engagement_opens") == 2
    assert sample(families, "outreach_engagement_replies") == 1
    assert sample(families, "outreach_dead_letters", code="DLQ-INVALID-CARD") >= 1
    sends = [s for s in families["outreach_send_seconds"].samples
             if s.name.endswith("_count") and s.labels == {"provider": "sandbox",
                                                             "outcome": "sent"}]
    assert [s.value for s in sends] == [2]
    lag = {(s.labels["topic"], s.labels["partition"]) for s in samples(families,
                                                                       "outreach_consumer_lag")}
    assert ("social-xpress.lead-batch.ready", "0") in lag or (
        "social-xpress.lead-batch.ready", "1") in lag
    assert all(s.value >= 0 for s in samples(families, "outreach_consumer_lag"))
    rss = samples(families, "process_resident_memory_bytes")
    assert rss and rss[0].value > 10_000_000
