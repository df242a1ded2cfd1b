"""No personal data or secret leaves the hub through its logs, its metrics or its dead-letter
reasons, on a real worker running the whole flow (intake -> gate -> sequencer -> sandbox
sender -> engagement -> sink) with JSON logs, poison records included. The JSON lines parse,
and the lines about an event name its correlation_id.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from confluent_kafka import Producer
from test_intake_gate_e2e import card, consume_until_idle, score, wait_for

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

pytestmark = pytest.mark.e2e

# Names and addresses no code, topic name or library message would contain by chance.
PEOPLE = [  # (lead, company, first, last, address)
    ("l-pv-1", "cmp_hot", "Zelphine", "Quorvath", "zelphine.quorvath@cmp-hot.example"),
    ("l-pv-2", "cmp_burn", "Ombretta", "Vistrake", "ombretta.vistrake@cmp-burn.example"),
    ("l-pv-3", "cmp_burn", "Thaddeo", "Brunskill", "thaddeo.brunskill@cmp-burn.example"),
]
INVALID = ("l-pv-bad", "cmp_burn", "Yrsabel", "Klemmingbo", "yrsabel.klemmingbo@@cmp-burn")
POISON_ADDRESS = "gunnvor.pellastrine@cmp-hot.example"  # only in records that are refused
SECRETS = {
    "OUTREACH_UNSUBSCRIBE_SECRET": "unsub-secret-Hq7vR2kP9xW4mZ8c",
    "OUTREACH_CALENDAR_SECRET": "calendar-secret-Lt5nB3sY6dJ1fG0a",
    "OUTREACH_SMTP_PASSWORD": "smtp-password-Vx4cN8qE2rT6uI9o",
    "OUTREACH_SENDGRID_API_KEY": "SG.sendgrid-key-Pw3mK7zA5hD1jF6s",
}
DB_PASSWORD = "db-password-Ck2vB9nM4xZ7qW1e"
SPEED = 60_000.0
# Any address at all (a domain with a dot); object reprs such as `x@0x7f..` are not one.
ADDRESS_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z][A-Za-z0-9-]*(\.[A-Za-z0-9-]+)+")


def lead(lead_id: str, company: str, first: str, last: str, address: str) -> dict:
    doc = card(lead_id, company, contact={
        "email": address, "email_verified": True, "first_name": first, "last_name": last,
        "title": "Owner", "timezone": "UTC"})
    doc["display_name"] = f"{first} {last}"
    doc["username"] = f"{first.lower()}_{last.lower()}"
    return doc


def forbidden() -> list[str]:
    words = [w for p in (*PEOPLE, INVALID) for w in p[2:]]
    words += [p[4].split("@")[0] for p in (*PEOPLE, INVALID)]  # local parts alone too
    return [*words, POISON_ADDRESS, *SECRETS.values(), DB_PASSWORD]


def leaks(text: str, where: str) -> list[str]:
    found = [f"{where}: {w!r}" for w in forbidden() if w.lower() in text.lower()]
    found += [f"{where}: address {m.group(0)!r}" for m in ADDRESS_RE.finditer(text)]
    return found


def with_password(url: str) -> str:
    # The embedded PostgreSQL trusts local connections, so a password given is carried by
    # the worker's settings (and could leak) without being needed.
    parts = urlsplit(url)
    user = parts.username or "postgres"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{DB_PASSWORD}@{host}"))


def publish_flow(bootstrap: str) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for company, value in (("cmp_hot", 60), ("cmp_burn", 80)):
        producer.produce("bit-engine.score.evaluated", key=company, value=score(company, value))
    batch = {"batch_id": "sxp_privacy_001", "schema_version": "v1",
             "created_at": "2026-11-20T10:00:00Z", "source": "social-xpress-engine",
             "target": "nextier-execution",
             "records": [lead(*p) for p in (*PEOPLE, INVALID)]}
    producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                     value=json.dumps(batch).encode())
    # Poison: not JSON on three stages' inputs, and well-formed records that are refused while
    # holding an address (a reason must name the field, never echo the value).
    for topic in ("social-xpress.lead-batch.ready", "email-provider.events",
                  "outreach.gate.verdict"):
        producer.produce(topic, key="poison", value=b'{"contact": {"email": "' +
                         POISON_ADDRESS.encode() + b'"')
    producer.produce("outreach.gate.verdict", key="cmp_hot", value=json.dumps({
        "event_id": "verdict-poison", "occurred_at": "2026-11-23T12:00:00Z",
        "correlation_id": "corr-poison", "process_id": "not-a-process-id",
        "lead_id": "l-poison", "verdict": "MAYBE",
        "contact": {"email": POISON_ADDRESS, "first_name": "Gunnvor"}}).encode())
    producer.produce("email-provider.events", key="poison", value=json.dumps({
        "provider": "hub", "type": "replied", "provider_event_id": POISON_ADDRESS,
        "aggregate_id": POISON_ADDRESS, "email": POISON_ADDRESS}).encode())
    assert producer.flush(10) == 0


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())


async def test_no_personal_data_or_secret_in_logs_metrics_or_dead_letters(
    broker: str, database_url: str, tmp_path: Path
) -> None:
    await prepare(Settings(topic_partitions=2), broker, database_url)
    log_path = tmp_path / "worker.log"
    worker = WorkerProcess.start(broker, with_password(database_url), log_path, {
        "OUTREACH_APP_ID": f"privacy-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_LOG_FORMAT": "json",
        "OUTREACH_LOG_LEVEL": "debug", "OUTREACH_CLOCK_SPEED": str(SPEED),
        "OUTREACH_CLOCK_ANCHOR": str(time.time()), "OUTREACH_SANDBOX_SEED": "7",
        "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
        "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        # Campaigns approved by policy: what is checked here is what the sends leave behind.
        "OUTREACH_AUTO_APPROVE_TIERS": "SUSPECT,WARM,HOT,BURNING",
        **SECRETS})
    try:
        worker.wait_ready(90)
        publish_flow(broker)
        # Every allowed person is sent to, the invalid card is blocked, the poison dead-lettered.
        await wait_for(database_url, "SELECT count(DISTINCT aggregate_id) FROM outreach.send_log"
                       " WHERE status = 'sent'", len(PEOPLE), timeout=90)
        await wait_for(database_url, "SELECT count(*) FROM outreach.outreach_errors"
                       " WHERE code LIKE 'DLQ-%'", 5, timeout=60)
        await wait_for(database_url, "SELECT count(*) FROM outreach.outreach_errors"
                       " WHERE code = 'OUT-002'", 1, timeout=60)
        await wait_for(database_url, "SELECT count(*) FROM outreach.engagement_events", 1,
                       timeout=60)
        metrics = scrape(worker.web_port)
    finally:
        code = worker.stop()
    log_text = log_path.read_text()
    assert code == 0, log_text[-3000:]

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT code, stage, reason FROM outreach.outreach_errors")
    finally:
        await conn.close()
    letters = consume_until_idle(broker, "outreach.errors")
    topic_reasons = [e["reason"] for e in letters]
    assert len(topic_reasons) >= 6 and len(rows) >= 6
    # The personal data did reach the stages: a dead letter keeps the record for replay.
    assert leaks(json.dumps([e.get("record") for e in letters]), "records")
    found = (leaks(log_text, "worker log") + leaks(metrics, "/metrics")
             + leaks("\n".join(topic_reasons), "outreach.errors reasons")
             + leaks("\n".join(r["reason"] for r in rows), "outreach_errors.reason"))
    assert not found, "\n".join(found)

    lines = [json.loads(line) for line in log_text.splitlines() if line.strip()]
    assert {"time", "level", "logger", "message"} <= set().union(*lines)
    dead = [line for line in lines if "dead-lettered" in line["message"]]
    assert len(dead) >= 5, [line["message"] for line in lines]
    for line in dead:
        assert line.get("correlation_id") and line.get("process_id"), line
    # Bad JSON names no event: its line is known by its dead letter's ids.
    assert any(line["correlation_id"].startswith("record:") for line in dead)
    processed = [line for line in lines if "lead batch processed" in line["message"]]
    assert processed and processed[0]["correlation_id"] == "batch:sxp_privacy_001"
