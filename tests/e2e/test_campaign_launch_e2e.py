"""The governed launch on the real broker and PostgreSQL: persons of a new campaign are
enrolled but not touched while it is a draft; an operator's `outreach-hub campaigns approve`
(through the worker's API) activates it and its touches flow, none refused; a draft nobody
approves expires and its persons' sequences end untouched; an illegal command is refused
on record."""

from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from confluent_kafka import Producer

from agents.campaigns.identity import campaign_id_for
from streams.embedded import free_port
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

pytestmark = pytest.mark.e2e

SPEED = 3600.0  # one wall second is one hub hour
TTL_HOURS = 25  # the draft TTL, in hub hours: ~25 wall seconds
APPROVED = campaign_id_for("cmp_a", "PERSONALIZED_EMAIL")
LEFT = campaign_id_for("cmp_b", "PERSONALIZED_EMAIL")
TOKEN = "ann-e2e-0123456789abcdef"


def verdict(n: int, company: str) -> bytes:
    return json.dumps({
        "event_id": f"verdict-{company}-{n}", "occurred_at": "2026-11-23T12:00:00Z",
        "correlation_id": f"corr-{company}",
        "process_id": "outreach-execution-campaign-20261123-0a1b2c3d",
        "lead_id": f"lead-{company}-{n}", "batch_id": "sxp_launch", "company_sov_id": company,
        "bit_score": 66, "score_evaluated_at": "2026-11-23T11:00:00Z", "verdict": "ALLOW",
        "tier": "HOT", "strategy": "PERSONALIZED_EMAIL", "reasons": [], "error_code": None,
        "company_name": f"{company.upper()} Roofing",
        "contact": {"email": f"p{n}@{company.replace('_', '-')}.example", "email_verified": True,
                    "timezone": "UTC", "first_name": f"P{n}", "last_name": "Smith",
                    "title": "Owner"},
    }).encode()


def command(name: str, campaign_id: str, **extra: Any) -> bytes:
    return json.dumps({"command_id": f"e2e-{name}-{uuid.uuid4().hex[:6]}", "command": name,
                       "campaign_id": campaign_id, "actor": "operator:e2e",
                       "issued_at": datetime.now(UTC).isoformat(), **extra}).encode()


def enrolled(worker: WorkerProcess) -> float:
    url = f"http://127.0.0.1:{worker.web_port}/metrics"
    with urllib.request.urlopen(url, timeout=2) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("outreach_sequencer_enrollments_total{")
               and 'outcome="enrolled"' in line)


async def rows(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def wait_for(url: str, sql: str, ok: Any, seconds: float) -> list[asyncpg.Record]:
    deadline, found = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        found = await rows(url, sql)
        if ok(found):
            return found
        time.sleep(0.5)
    raise AssertionError(f"not reached within {seconds}s: {sql} -> {found}")


class Inbox:
    """An SMTP server standing for the provider: it keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(
            envelope.content, policy=email.policy.default))
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


async def test_a_draft_waits_an_approval_sends_an_unreviewed_draft_expires(
    broker: str, database_url: str, tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    mailbox, smtp_port = inbox
    await prepare(Settings(topic_partitions=2), broker, database_url)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "w.log", {
        # A real SMTP server as the provider: what it receives is what a person would read.
        "OUTREACH_EMAIL_PROVIDER": "smtp", "OUTREACH_SMTP_HOST": "127.0.0.1",
        "OUTREACH_SMTP_PORT": str(smtp_port), "OUTREACH_PUBLIC_BASE_URL": "https://hub.example",
        "OUTREACH_BOOKING_URL": "https://book.example/meet",
        "OUTREACH_UNSUBSCRIBE_SECRET": "launch-unsubscribe-secret-0123456789",
        "OUTREACH_CALENDAR_SECRET": "launch-calendar-secret-0123456789abcd",
        "OUTREACH_APP_ID": f"launch-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_CLOCK_SPEED": str(SPEED),
        "OUTREACH_CLOCK_ANCHOR": str(time.time()), "OUTREACH_WINDOW_START_HOUR": "0",
        "OUTREACH_WINDOW_END_HOUR": "24", "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6",
        "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25", "OUTREACH_SANDBOX_ENGAGEMENT": "false",
        "OUTREACH_CAMPAIGN_DRAFT_TTL_S": str(TTL_HOURS * 3600),
        "OUTREACH_CAMPAIGN_CHECK_SECONDS": "0.5", "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_OPERATOR_TOKENS": f"ann:{TOKEN}"})
    try:
        worker.wait_ready(90)
        producer = Producer({"bootstrap.servers": broker})
        for company, people in (("cmp_a", 3), ("cmp_b", 2)):
            for n in range(people):
                producer.produce("outreach.gate.verdict", key=company, value=verdict(n, company))
        assert producer.flush(10) == 0

        drafts = await wait_for(database_url, "SELECT campaign_id, audience FROM "
                                "outreach.campaigns WHERE state = 'draft' ORDER BY 1",
                                lambda r: len(r) == 2 and sum(x[1] for x in r) == 5, 60)
        assert {d[0] for d in drafts} == {APPROVED, LEFT}
        # Enrolled (the sequencer's own count: an enrollment appends nothing before a touch).
        deadline = time.monotonic() + 30
        while enrolled(worker) < 5 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert enrolled(worker) == 5
        time.sleep(3)  # three hub hours with every person due: still nothing is requested
        assert (await rows(database_url, "SELECT count(*) FROM outreach.send_log"))[0][0] == 0

        producer.produce("outreach.campaign.commands", key=APPROVED,
                         value=command("resume", APPROVED))  # illegal on a draft: refused
        assert producer.flush(10) == 0
        # The approval goes through the operator CLI, against the worker's API.
        env = {**os.environ, "OUTREACH_API_URL": f"http://127.0.0.1:{worker.web_port}",
               "OUTREACH_OPERATOR_TOKEN": TOKEN}
        approve = subprocess.run(
            [sys.executable, "-m", "streams.cli", "campaigns", "approve", APPROVED,
             "--operator", "ann"], env=env, capture_output=True, text=True, timeout=90)
        assert approve.returncode == 0, approve.stderr
        [active] = await wait_for(
            database_url, f"SELECT state, approved_by FROM outreach.campaigns "
            f"WHERE campaign_id = '{APPROVED}'", lambda r: r and r[0][0] == "active", 30)
        assert active[1] == "operator:ann"
        sent = await wait_for(
            database_url, "SELECT q.campaign_id, s.touch_index, s.status, s.failure_reason "
            "FROM outreach.send_log s "
            "JOIN outreach.sequences q USING (aggregate_id)",
            lambda r: len(r) >= 3, 30)
        assert {s[0] for s in sent} == {APPROVED}
        # Rendered with the card's merge fields and sent: none refused.
        assert {s[2] for s in sent} <= {"sent", "scheduled"}, [tuple(s) for s in sent]
        # Read back from the SMTP server: each message to a person of the approved campaign,
        # greeting them by the first name their card gave, naming their company.
        deadline = time.monotonic() + 30
        while len(mailbox.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(mailbox.messages) >= 3
        for message in mailbox.messages:
            who = str(message["To"]).split("@")[0].removeprefix("p")
            assert str(message["To"]).endswith("@cmp-a.example")
            text = message.get_body(preferencelist=("plain",))
            assert text is not None
            body = text.get_content()
            assert f"P{who}" in body and "CMP_A Roofing" in f"{message['Subject']} {body}"
            assert "{" not in str(message["Subject"]) and "{{" not in body
        [refused] = await rows(database_url, "SELECT command, code FROM "
                               "outreach.campaign_command_rejections")
        assert tuple(refused) == ("resume", "illegal_transition")

        await wait_for(database_url, f"SELECT state FROM outreach.campaigns WHERE campaign_id "
                       f"= '{LEFT}'", lambda r: r and r[0][0] == "expired", 60)
        await wait_for(database_url, f"SELECT status FROM outreach.sequences WHERE "
                       f"campaign_id = '{LEFT}'",
                       lambda r: len(r) == 2 and all(x[0] == "stopped" for x in r), 30)
        untouched = await rows(database_url, f"SELECT count(*) FROM outreach.send_log s JOIN "
                               f"outreach.sequences q USING (aggregate_id) "
                               f"WHERE q.campaign_id = '{LEFT}'")
        assert untouched[0][0] == 0
    finally:
        assert worker.stop() == 0, (tmp_path / "w.log").read_text()[-3000:]
