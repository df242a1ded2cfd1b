"""Enroll -> send through SMTP to a real SMTP server -> provider events pushed with
confluent-kafka -> CL signals read with confluent-kafka. A reply stops further touches, a
duplicated webhook changes nothing, an unsubscribe suppresses the address in another campaign.
"""

from __future__ import annotations

import email
import json
import re
import time
import uuid
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from confluent_kafka import Producer

from agents.sequencer.enrollment import contact_key_for
from streams.embedded import free_port
from streams.kernel.partitioning import partition_for
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

SPEED = 30_000.0  # 3 hub days (the cadence) in about 9 wall seconds
PEOPLE = {"a": "ann.reply@cmp-a.example", "b": "bob.unsub@cmp-b.example",
          "c": "cy.quiet@cmp-c.example"}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] and address in m["To"]]


def verdict(n: str, address: str, company: str, lead: str) -> bytes:
    return json.dumps({
        "event_id": f"verdict-{lead}", "occurred_at": "2026-11-23T12:00:00Z",
        "correlation_id": f"corr-{company}",
        "process_id": "outreach-execution-campaign-20261123-0a1b2c3d", "lead_id": lead,
        "batch_id": "sxp_engage", "company_sov_id": company, "bit_score": 66,
        "score_evaluated_at": "2026-11-23T11:00:00Z", "verdict": "ALLOW", "tier": "HOT",
        "strategy": "PERSONALIZED_EMAIL", "reasons": [], "error_code": None,
        "company_name": f"{company.upper()} Roofing",
        "contact": {"email": address, "email_verified": True, "timezone": "UTC",
                    "first_name": address.split(".")[0].title(), "last_name": "Smith",
                    "title": "Head of <Ops>"},
    }).encode()


def bodies(message: Message) -> tuple[str, str]:
    """The text and HTML parts of a received email, decoded."""
    parts = {part.get_content_type():
             part.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]
             for part in message.walk() if not part.is_multipart()}
    return parts["text/plain"], parts["text/html"]


def hub_event(aggregate_id: str, kind: str, event_id: str, **extra: str) -> bytes:
    return json.dumps({"provider": "hub", "provider_event_id": event_id, "type": kind,
                       "occurred_at": "2026-11-30T12:00:00Z",
                       "aggregate_id": aggregate_id, **extra}).encode()


def booking_link(message: Message) -> str:
    """The signed calendar link in the email's text part."""
    found = re.search(r"https://hub\.example/calendar/book\?\S+", bodies(message)[0])
    assert found, "the email carries a calendar link"
    return found.group(0)


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


# One worker running every stage, and the same flow split over two pools of stages (each its
# own consumer group, as the Helm chart deploys them).
TOPOLOGIES = {
    "one worker": [""],
    "two pools": ["intake,gate,campaigns,sequencer", "sender,engagement,sink"],
}


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
async def test_reply_stops_duplicates_change_nothing_unsubscribe_suppresses(
    broker: str, database_url: str, inbox: tuple[Inbox, int], tmp_path: Path, topology: str
) -> None:
    box, smtp_port = inbox
    await prepare(Settings(topic_partitions=2), broker, database_url)
    app_id = f"engage-{uuid.uuid4().hex[:8]}"
    anchor = str(time.time())
    workers = [WorkerProcess.start(broker, database_url, tmp_path / f"worker{n}.log", {
        "OUTREACH_APP_ID": app_id, "OUTREACH_TOPIC_PARTITIONS": "2",
        **({"OUTREACH_STAGES": stages} if stages else {}),
        "OUTREACH_DATA_DIR": str(tmp_path / f"var{n}"), "OUTREACH_EMAIL_PROVIDER": "smtp",
        "OUTREACH_SMTP_HOST": "127.0.0.1", "OUTREACH_SMTP_PORT": str(smtp_port),
        "OUTREACH_PUBLIC_BASE_URL": "https://hub.example",
        "OUTREACH_BOOKING_URL": "https://book.example/meet", "OUTREACH_CLOCK_SPEED": str(SPEED),
        "OUTREACH_UNSUBSCRIBE_SECRET": "e2e-unsubscribe-secret-0123456789",
        "OUTREACH_CALENDAR_SECRET": "e2e-calendar-secret-0123456789abcd",
        "OUTREACH_CLOCK_ANCHOR": anchor, "OUTREACH_WINDOW_START_HOUR": "0",
        "OUTREACH_WINDOW_END_HOUR": "24", "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6",
        "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        # Nothing is sent for an unapproved campaign: the policy approves these HOT ones.
        "OUTREACH_AUTO_APPROVE_TIERS": "HOT"})
        for n, stages in enumerate(TOPOLOGIES[topology])]
    try:
        for worker in workers:
            worker.wait_ready(90)
        producer = Producer({"bootstrap.servers": broker})
        for n, (who, address) in enumerate(PEOPLE.items()):
            producer.produce("outreach.gate.verdict", key=f"cmp_{who}",
                             value=verdict(str(n), address, f"cmp_{who}", f"lead-{who}"))
        assert producer.flush(10) == 0
        wait_until(lambda: all(box.to(a) for a in PEOPLE.values()), 30, "touch 1 for everyone")

        first = {who: box.to(address)[0] for who, address in PEOPLE.items()}
        for message in first.values():
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert "https://hub.example/unsubscribe?" in message["List-Unsubscribe"]
        aggregates = {who: m["X-Outreach-Aggregate-Id"] for who, m in first.items()}
        # The email is the touch's template with the card's names and the hub's links.
        ann = first["a"]
        assert ann["Subject"] == "Quick question about CMP_A Roofing"
        text, html = bodies(ann)
        assert text.startswith("Hi Ann,\n\nAs Head of <Ops> at CMP_A Roofing, ")
        assert "<p>Hi Ann,</p>" in html and "As Head of &lt;Ops&gt; at CMP_A Roofing" in html
        unsubscribe = ann["List-Unsubscribe"].strip("<>")
        assert unsubscribe in text and unsubscribe.replace("&", "&amp;") in html
        assert booking_link(ann) in text
        assert "https://hub.example/calendar/book?" in booking_link(ann)

        # Ann replies, and the provider delivers the webhook twice: once as the hub's ingress
        # produces it (keyed by her, on her partition: decided where it lands), once landing
        # elsewhere (re-keyed to her first). Bob unsubscribes.
        ann_key = aggregates["a"].rsplit(":", 1)[1]
        for partition in (partition_for(ann_key, 2), 1 - partition_for(ann_key, 2)):
            producer.produce("email-provider.events", key=ann_key, partition=partition,
                             value=hub_event(aggregates["a"], "replied", "reply-ann-1"))
        producer.produce("email-provider.events", key="any",
                         value=hub_event(aggregates["b"], "unsubscribed", "unsub-bob-1"))
        producer.produce("email-provider.events", key="any", value=b"{not a webhook")
        assert producer.flush(10) == 0

        signals = read_all(broker, "cl.engagement.signals", expect=2, timeout=30)
        assert sorted((s["company_sov_id"], s["signal"]) for s in signals) == [
            ("cmp_a", "replied"), ("cmp_b", "unsubscribed")]
        assert all(s["correlation_id"] == f"corr-{s['company_sov_id']}" for s in signals)

        # Bob is enrolled again, for another company's campaign: suppressed, no email.
        producer.produce("outreach.gate.verdict", key="cmp_other",
                         value=verdict("9", PEOPLE["b"], "cmp_other", "lead-b-again"))
        assert producer.flush(10) == 0

        # Cy, who did nothing, gets touch 2 three hub days later; Ann and Bob get nothing more.
        wait_until(lambda: len(box.to(PEOPLE["c"])) >= 2, 60, "touch 2 for the quiet contact")
        time.sleep(2)
        assert len(box.to(PEOPLE["a"])) == 1
        assert len(box.to(PEOPLE["b"])) == 1

        # A provider event that names only the message (no custom args) finds its send.
        message_id = box.to(PEOPLE["c"])[0]["Message-ID"].strip("<>")
        producer.produce("email-provider.events", key="any", value=json.dumps({
            "provider": "hub", "provider_event_id": "open-cy-1", "type": "opened",
            "occurred_at": "2026-11-30T12:00:00Z", "provider_message_id": message_id}).encode())

        # Cy books a meeting through the signed link of the email; a tampered copy is refused.
        link = booking_link(box.to(PEOPLE["c"])[0])
        forged = link.replace("oid=cmp_c", "oid=cmp_x")
        producer.produce("email-provider.events", key="any", value=hub_event(
            aggregates["c"], "meeting_booked", "meet-forged", calendar_link=forged))
        producer.produce("email-provider.events", key="any", value=hub_event(
            aggregates["c"], "meeting_booked", "meet-cy-1", calendar_link=link))
        assert producer.flush(10) == 0
        signals = read_all(broker, "cl.engagement.signals", expect=4, timeout=30)
        assert sorted(s["signal"] for s in signals if s["company_sov_id"] == "cmp_c") == [
            "engaged", "meeting_booked"]

        conn = await asyncpg.connect(database_url)
        try:
            engagement = await conn.fetch(
                "SELECT type, count(*) AS n FROM outreach.engagement_events GROUP BY 1")
            suppressed = await conn.fetchval(
                "SELECT reason FROM outreach.suppression_list WHERE address_hash = $1",
                contact_key_for(PEOPLE["b"]))
            stopped = await conn.fetchval(
                "SELECT status FROM outreach.sequences WHERE aggregate_id = $1", aggregates["a"])
            dead = await conn.fetchval(
                "SELECT count(*) FROM outreach.outreach_errors WHERE stage = 'engagement'")
        finally:
            await conn.close()
        assert {r["type"]: r["n"] for r in engagement} == {
            "replied": 1, "unsubscribed": 1, "meeting_booked": 1, "opened": 1}
        assert suppressed == "unsubscribed"
        assert stopped == "stopped"
        assert dead == 2  # the malformed webhook and the forged calendar link, with reasons
    finally:
        for worker in workers:
            assert worker.stop() == 0, worker.log_path.read_text()[-3000:]


def read_all(bootstrap: str, topic: str, expect: int, timeout: float) -> list[dict[str, Any]]:
    consumer = topic_reader(bootstrap, topic)
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                out.append(json.loads(msg.value()))
            elif len(out) >= expect:
                break
    finally:
        consumer.close()
    return out
