"""What every fault test shares: a broker of its own, an SMTP server playing an email
provider's relay, workers as an operator runs them, and `outreach-hub reconcile` as the
oracle (printed at the end of each test, then asserted: nothing lost, nothing twice)."""

from __future__ import annotations

import email
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer
from confluent_kafka import Producer

from streams import sample
from streams.contracts.topics import load_catalog
from streams.kernel.kafka_security import KafkaSecurity
from streams.operator.reconcile_count import Reconciliation, as_text, count
from streams.operator.reconcile_read import read_database, read_topics
from streams.process import WorkerProcess

PARTITIONS = 2


@dataclass
class Relay:
    """An SMTP server standing for a provider's relay: it keeps every Message-ID it accepts
    and, like SendGrid's or Mailgun's SMTP relays, reports each accepted message as a
    `delivered` event naming the custom args (X-Outreach-* headers) it carried. `answer` may
    refuse a message (an SMTP reply such as "451 try later"): nothing is kept then."""

    bootstrap: str
    answer: Callable[[str], str | None] = lambda _to: None
    # Besides `delivered`, an `opened` event; each sent `copies` times, the later one first.
    webhooks: int = 0
    message_ids: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # log_level 0: once the test stops its broker, the relay must not fill the output.
        self.producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5,
                                  "log_level": 0})

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = self.answer(envelope.rcpt_tos[0])
        if refusal:
            with self.lock:
                self.refusals.append(refusal[:3])
            return refusal
        msg = email.message_from_bytes(envelope.content)
        mid = str(msg["Message-ID"]).strip()
        with self.lock:
            self.message_ids.append(mid)
        kinds = ["delivered"] if not self.webhooks else ["opened", "delivered"] * self.webhooks
        for kind in kinds:  # with webhooks: opened before delivered, and each again
            self.producer.produce("email-provider.events", key=b"any", value=orjson.dumps({
                "provider": "hub", "provider_event_id": f"{kind}-{mid}", "type": kind,
                "occurred_at": "2026-11-30T12:00:00Z",
                "aggregate_id": msg["X-Outreach-Aggregate-Id"],
                "idempotency_key": msg["X-Outreach-Idempotency-Key"],
                "provider_message_id": mid.strip("<>")}))
        self.producer.poll(0)
        return "250 OK"

    def close(self) -> None:
        """Flush and drop the client: the embedded broker waits for open connections before it
        exits (5 s per test)."""
        self.producer.flush(10)
        del self.producer

    def write_ids(self, path: Path) -> Path:
        with self.lock:
            path.write_text("\n".join(self.message_ids) + "\n")
        return path


async def sender_states(bootstrap: str, app_id: str) -> str:
    """The sender's last stored state of each person with an undecided touch (diagnosis)."""
    records = await read_topics(bootstrap, load_catalog(partitions_override=PARTITIONS),
                                security=KafkaSecurity())
    decided = {s.get("idempotency_key") for s in records.sends if isinstance(s, dict)}
    people = {str(r.get("contact_key")) for r in records.requests
              if isinstance(r, dict) and r.get("idempotency_key") not in decided}
    topic = f"{app_id}-sender-people-changelog"
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    last: dict[str, str] = {}
    try:
        while batch := await consumer.getmany(timeout_ms=1500):
            for messages in batch.values():
                for m in messages:
                    key = (m.key or b"").decode(errors="replace").strip('"')
                    if key in people:
                        last[key] = f"p{m.partition}@{m.offset} {(m.value or b'')[:600]!r}"
    finally:
        await consumer.stop()
    return "\n".join(f"{k}: {v}" for k, v in sorted(last.items()))


def worker_env(tmp_path: Path, app_id: str, smtp_port: int, n: int = 0,
               anchor: float | None = None, **extra: str) -> dict[str, str]:
    return {
        "OUTREACH_APP_ID": app_id, "OUTREACH_TOPIC_PARTITIONS": str(PARTITIONS),
        "OUTREACH_DATA_DIR": str(tmp_path / f"var{n}"), "OUTREACH_EMAIL_PROVIDER": "smtp",
        "OUTREACH_SMTP_HOST": "127.0.0.1", "OUTREACH_SMTP_PORT": str(smtp_port),
        "OUTREACH_PUBLIC_BASE_URL": "https://hub.example",
        "OUTREACH_BOOKING_URL": "https://book.example/meet",
        "OUTREACH_UNSUBSCRIBE_SECRET": "fault-unsubscribe-secret-0123456789",
        "OUTREACH_CALENDAR_SECRET": "fault-calendar-secret-0123456789abcd",
        "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
        "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        "OUTREACH_SEND_UNRESOLVED_AFTER_S": "15", "OUTREACH_SEND_MAX_ATTEMPTS": "4",
        # A killed worker leaves its group after 3 s, not 6: the survivor (or the restarted
        # worker) waits for that before the partitions move. And every join waits the
        # rebalance timeout on the embedded broker: 1.5 s, not 3.
        "OUTREACH_SESSION_TIMEOUT_S": "3", "OUTREACH_HEARTBEAT_INTERVAL_S": "0.5",
        "OUTREACH_REBALANCE_TIMEOUT_S": "1.5",
        # Twelve hub days (a sequence's five touches) in about 12 wall seconds; workers of
        # one test share the anchor.
        "OUTREACH_CLOCK_SPEED": "86400", "OUTREACH_CLOCK_ANCHOR": str(anchor or time.time()),
        # The suite measures sending, not review: the approval policy approves the drafts.
        "OUTREACH_AUTO_APPROVE_TIERS": "HOT,BURNING",
        **extra,
    }


def new_app_id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def publish_leads(bootstrap: str, batch_id: str, cards: int, companies: int,
                  times: int = 1, seed: int = 3) -> dict[str, Any]:
    """Scores first (HOT: five emails over twelve hub days each), then the batch."""
    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 16_000_000})
    for score in sample.bit_scores(companies, scores=(60,)):
        producer.produce("bit-engine.score.evaluated", key=score["company_sov_id"],
                         value=orjson.dumps(score))
    batch = sample.lead_batch(batch_id, cards=cards, companies=companies, seed=seed)
    for _ in range(times):
        producer.produce("social-xpress.lead-batch.ready", key=batch_id,
                         value=orjson.dumps(batch))
    assert producer.flush(30) == 0
    return batch


async def reconcile(bootstrap: str, database_url: str,
                    relay: Relay | None = None) -> Reconciliation:
    records = await read_topics(bootstrap, load_catalog(partitions_override=PARTITIONS),
                                security=KafkaSecurity())
    conn = await asyncpg.connect(database_url)
    try:
        db = await read_database(conn)
    finally:
        await conn.close()
    ids: list[str] = []
    if relay is not None:
        with relay.lock:
            ids = list(relay.message_ids)
    return count(records, ids, db)


async def settled(bootstrap: str, database_url: str, relay: Relay, expect_requested: int,
                  timeout: float, workers: list[WorkerProcess],
                  app_id: str | None = None) -> Reconciliation:
    """Poll the reconciliation until every expected touch is requested and nothing is
    unresolved (or the timeout): the state a test then prints and asserts."""
    deadline = time.monotonic() + timeout
    rec = await reconcile(bootstrap, database_url, relay)
    while time.monotonic() < deadline:
        for w in workers:
            assert w.proc.poll() is None, w.log_path.read_text()[-3000:]
        t = rec.totals()
        if t["requested"] >= expect_requested and rec.ok and t["sent"] + t["failed"] == t[
                "requested"] and all(c.db_sent == c.sent for c in rec.campaigns.values()):
            break
        time.sleep(1)
        rec = await reconcile(bootstrap, database_url, relay)
    print("\n" + as_text(rec))
    if not rec.ok:
        print(await undecided(bootstrap))
        if app_id:
            print(await sender_states(bootstrap, app_id))
    return rec


async def undecided(bootstrap: str) -> str:
    """The touches requested and neither sent nor failed: which person, which touch."""
    records = await read_topics(bootstrap, load_catalog(partitions_override=PARTITIONS),
                                security=KafkaSecurity())
    decided = {s.get("idempotency_key") for s in records.sends if isinstance(s, dict)}
    left = sorted({(r.get("contact_key"), r.get("touch_index"), r.get("idempotency_key"))
                   for r in records.requests if isinstance(r, dict)
                   and r.get("idempotency_key") not in decided}, key=str)
    return "undecided touches (person, touch, key):\n" + "\n".join(map(str, left))


def assert_reconciled(rec: Reconciliation, relay: Relay) -> None:
    t = rec.totals()
    assert rec.twice == [], f"sent twice: {rec.twice}"
    assert t["lost"] == 0 and t["unresolved"] == 0, t
    with relay.lock:
        server = sorted(m.strip("<>") for m in relay.message_ids)
    assert len(server) == len(set(server)), "the SMTP server received a Message-ID twice"
    assert len(server) == t["sent"], (len(server), t)  # every send recorded, and only those


def expected_touches(batch: dict[str, Any], touches: int = 5) -> int:
    """Contacts the gate allows (a verified, clean, enriched card) times the sequence's touches;
    the sample's flaws are drawn per card, so count what the batch holds."""
    n = 0
    for card in batch["records"]:
        e = card.get("enrichment") or {}
        contact = e.get("contact") or {}
        if (card["enrichment_status"] == "ENRICHED" and e.get("domain_verified")
                and e.get("email_pattern") and e.get("lifecycle_state") == "TARGETABLE"
                and contact.get("email_verified")):
            n += 1
    return n * touches
