"""The running hub, driven from outside with confluent-kafka (not the hub's own client code).

A worker process runs against a real broker and PostgreSQL; the test publishes lead batches and
BIT scores, then reads what a user would read: rows in PostgreSQL and events on the topics.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from confluent_kafka import Producer

from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

SCORES = {"cmp_low": 12, "cmp_warm": 30, "cmp_hot": 60, "cmp_burn": 80}


def card(lead_id: str, company: str | None, status: str = "ENRICHED", **enrichment: Any) -> dict:
    doc: dict[str, Any] = {
        "lead_id": lead_id, "source_platform": "x", "username": f"u_{lead_id}",
        "display_name": "Test Lead", "audience_pool": "solar", "persona": "owner",
        "tribe": "builders", "execution_label": "USER", "confidence_score": 0.9,
        "enrichment_status": status, "contactability_score": 0.8,
        "created_at": "2026-11-20T10:00:00Z", "sx_extra": {"kept": True},
    }
    if status == "ENRICHED":
        doc["enrichment"] = {
            "company_sov_id": company, "company_name": f"{company} Inc",
            "domain": f"{company}.example".replace("_", "-"), "domain_verified": True,
            "email_pattern": "{first}.{last}@" + f"{company}.example".replace("_", "-"),
            "lifecycle_state": "TARGETABLE",
            "contact": {"email": f"{lead_id}@{company}.example".replace("_", "-"),
                        "email_verified": True,
                        "first_name": "Test", "last_name": "Lead", "title": "Owner",
                        "timezone": "America/Chicago"},
            **enrichment,
        }
    return doc


# lead_id -> (verdict, tier, error_code) a user expects from SPEC §3.
EXPECTED = {
    "l-low": ("DO_NOT_CONTACT", "SUSPECT", "OUT-001"),
    "l-warm": ("CONTENT_ONLY", "WARM", "OUT-001"),
    "l-hot": ("ALLOW", "HOT", None),
    "l-burn": ("ALLOW", "BURNING", None),
    "l-burn-unverified": ("BLOCKED", "BURNING", "OUT-002"),
    "l-burn-no-pattern": ("BLOCKED", "BURNING", None),
    "l-burn-bad-address": ("BLOCKED", "BURNING", "OUT-002"),  # a@b, although "verified"
    "l-burn-foreign-address": ("BLOCKED", "BURNING", "OUT-002"),  # not at the company's domain
    "l-late": ("ALLOW", "HOT", None),  # its company's score arrives after the card
}


def good_batch(batch_id: str) -> dict:
    records = [
        card("l-low", "cmp_low"), card("l-warm", "cmp_warm"), card("l-hot", "cmp_hot"),
        card("l-burn", "cmp_burn"),
        card("l-burn-unverified", "cmp_burn",
             contact={"email": "x@cmp-burn.example", "email_verified": False}),
        card("l-burn-no-pattern", "cmp_burn", email_pattern=None),
        card("l-burn-bad-address", "cmp_burn", contact={"email": "a@b", "email_verified": True}),
        card("l-burn-foreign-address", "cmp_burn",
             contact={"email": "jane@evil.example", "email_verified": True}),
        card("l-late", "cmp_late"),
        card("l-requested", None, status="REQUESTED"), card("l-failed", None, status="FAILED"),
        {"lead_id": "l-bad", "source_platform": "myspace"},  # fails validation
    ]
    return {"batch_id": batch_id, "schema_version": "v1", "created_at": "2026-11-20T10:00:00Z",
            "source": "social-xpress-engine", "target": "nextier-execution", "records": records}


def score(company: str, value: float, evaluated_at: str = "2026-11-20T09:00:00Z") -> bytes:
    return json.dumps({"company_sov_id": company, "outreach_id": f"o-{company}",
                       "bit_score": value, "bit_tier": "X", "correlation_id": f"corr-{company}",
                       "lifecycle_state": "TARGETABLE",
                       "evaluated_at": evaluated_at}).encode()


def worker_env(app_id: str, tmp_path: Path) -> dict[str, str]:
    return {"OUTREACH_APP_ID": app_id, "OUTREACH_TOPIC_PARTITIONS": "2",
            "OUTREACH_GATE_MAX_WAIT_SECONDS": "600", "OUTREACH_DATA_DIR": str(tmp_path / "var")}


@pytest.fixture
async def hub(broker: str, database_url: str, tmp_path: Path) -> Any:
    settings = Settings(topic_partitions=2)
    await prepare(settings, broker, database_url)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "worker.log",
                                 worker_env(f"e2e-{uuid.uuid4().hex[:8]}", tmp_path))
    try:
        worker.wait_ready(90)
        yield worker
    finally:
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]


async def wait_for(url: str, sql: str, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    value = -1
    while time.monotonic() < deadline:
        conn = await asyncpg.connect(url)
        try:
            value = int(await conn.fetchval(sql))
        finally:
            await conn.close()
        if value >= expected:
            return value
        await asyncio_sleep(0.3)
    raise AssertionError(f"{sql!r} reached {value}, expected {expected}")


async def asyncio_sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def verdicts_in(value: dict) -> list[dict]:
    """The verdicts of one record of outreach.gate.verdict: the gate packs them."""
    return list(value["verdicts"]) if value.get("type") == "leads_gated" else [value]


def enrollments_in(value: dict) -> list[dict]:
    """The enrollments of one record of outreach.sequence.commands: packed, or one."""
    if value.get("type") == "enroll_contacts":
        return list(value["enrollments"])
    return [value] if value.get("type") == "enroll_contact" else []


def consume_verdicts(bootstrap: str, expected: int, timeout: float = 30) -> list[dict]:
    consumer = topic_reader(bootstrap, "outreach.gate.verdict")
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(out) < expected:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            out += verdicts_in(json.loads(msg.value()))
    finally:
        consumer.close()
    return out


def consume_until_idle(bootstrap: str, topic: str, idle: float = 3, timeout: float = 40
                       ) -> list[dict]:
    """Everything on the topic: read until nothing has come for `idle` seconds."""
    consumer = topic_reader(bootstrap, topic)
    out: list[dict] = []
    deadline, last = time.monotonic() + timeout, None
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                out.append(json.loads(msg.value()))
                last = time.monotonic()
            elif last is not None and time.monotonic() - last > idle:
                break
    finally:
        consumer.close()
    return out


async def test_batch_flows_to_audit_cards_verdicts_and_errors(
    hub: WorkerProcess, broker: str, database_url: str
) -> None:
    producer = Producer({"bootstrap.servers": broker})
    for company, value in SCORES.items():
        producer.produce("bit-engine.score.evaluated", key=company, value=score(company, value))
    producer.produce("social-xpress.lead-batch.ready", key="broken", value=b"{not json")
    batch = good_batch("sxp_e2e_001")
    producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                     value=json.dumps(batch).encode())
    producer.produce("social-xpress.lead-batch.ready", key="sxp_v9",
                     value=json.dumps({**batch, "batch_id": "sxp_v9", "schema_version": "v9"}))
    assert producer.flush(10) == 0

    await wait_for(database_url, "SELECT count(*) FROM outreach.audit_log", 3)
    # cmp_late's leads wait for their score; publish it only now.
    producer.produce("bit-engine.score.evaluated", key="cmp_late", value=score("cmp_late", 55))
    assert producer.flush(10) == 0
    await wait_for(database_url, "SELECT count(DISTINCT lead_id) FROM outreach.gate_verdicts",
                   len(EXPECTED))

    conn = await asyncpg.connect(database_url)
    try:
        audits = {r["batch_id"]: r for r in await conn.fetch("SELECT * FROM outreach.audit_log")}
        cards = {r["lead_id"]: r for r in await conn.fetch("SELECT * FROM outreach.lead_cards")}
        # The sequences the ALLOW verdicts start run on; compare what intake and the gate said.
        errors = await conn.fetch("SELECT code, reason, subject_id FROM outreach.outreach_errors"
                                  " WHERE stage IN ('intake', 'gate')")
    finally:
        await conn.close()

    good = audits["sxp_e2e_001"]
    assert (good["status"], good["cards_total"], good["cards_forwarded"]) == ("failure", 12, 9)
    assert good["cards_rejected"] == 1 and "myspace" not in (good["reason"] or "")
    assert audits["sxp_v9"]["status"] == "failure"
    assert "unsupported schema_version 'v9'" in audits["sxp_v9"]["reason"]
    malformed = [a for a in audits.values() if "not valid JSON" in (a["reason"] or "")]
    assert len(malformed) == 1 and malformed[0]["status"] == "failure"

    assert set(cards) == {r["lead_id"] for r in batch["records"] if r["lead_id"] != "l-bad"}
    stored = cards["l-hot"]["card"]
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored == batch["records"][2]  # verbatim, the unknown field included
    assert cards["l-requested"]["disposition"] == "AWAITING_ENRICHMENT"
    assert cards["l-failed"]["disposition"] == "NOT_EXECUTABLE"

    verdicts = consume_verdicts(broker, len(EXPECTED))
    got = {v["lead_id"]: (v["verdict"], v["tier"], v["error_code"]) for v in verdicts}
    assert got == EXPECTED
    for v in verdicts:
        assert v["process_id"].startswith("outreach-execution-campaign-")
        assert v["correlation_id"] == f"corr-{v['company_sov_id']}"  # from the BIT evaluation

    codes = sorted(e["code"] for e in errors)
    assert codes.count("OUT-001") == 2 and codes.count("OUT-002") == 3
    assert {"DLQ-MALFORMED", "DLQ-SCHEMA-VERSION", "DLQ-INVALID-CARD"} <= set(codes)
    on_topic = consume_until_idle(broker, "outreach.errors")
    assert sorted(e["code"] for e in on_topic if e["stage"] in ("intake", "gate")) == codes

    # Only the ALLOW verdicts are enrolled: never an address that is invalid or someone else's.
    enrolled = [one for c in consume_until_idle(broker, "outreach.sequence.commands")
                for one in enrollments_in(c)]
    allowed = {lead for lead, (verdict, _, _) in EXPECTED.items() if verdict == "ALLOW"}
    assert {c["lead_id"] for c in enrolled} == allowed


async def test_a_batch_id_seen_before_is_not_processed_twice(
    hub: WorkerProcess, broker: str, database_url: str
) -> None:
    producer = Producer({"bootstrap.servers": broker})
    producer.produce("bit-engine.score.evaluated", key="cmp_hot", value=score("cmp_hot", 60))
    batch = good_batch("sxp_e2e_dup")
    for _ in range(2):
        producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                         value=json.dumps(batch).encode())
    changed = {**batch, "records": batch["records"][:3]}
    producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                     value=json.dumps(changed).encode())
    assert producer.flush(10) == 0

    await wait_for(database_url, "SELECT count(*) FROM outreach.audit_log", 2)
    await wait_for(
        database_url,
        "SELECT count(*) FROM outreach.outreach_errors WHERE code='DLQ-BATCH-CONFLICT'",
        1,
    )
    conn = await asyncpg.connect(database_url)
    try:
        audit_rows = await conn.fetchval("SELECT count(*) FROM outreach.audit_log")
        card_rows = await conn.fetchval("SELECT count(*) FROM outreach.lead_cards")
        invalid = await conn.fetchval(
            "SELECT count(*) FROM outreach.outreach_errors WHERE code='DLQ-INVALID-CARD'")
    finally:
        await conn.close()
    # One audit row for the batch and one for the conflicting copy; the exact duplicate adds none.
    assert audit_rows == 2
    assert card_rows == 11 and invalid == 1


async def test_a_newer_score_regates_the_remembered_leads_after_a_restart(
    broker: str, database_url: str, tmp_path: Path
) -> None:
    """The gate keeps its remembered leads in slots of a table of their own: a worker restarted
    from the changelogs still re-gates them when the company's score moves to another band."""
    await prepare(Settings(topic_partitions=2), broker, database_url)
    env = worker_env(f"e2e-{uuid.uuid4().hex[:8]}", tmp_path)
    company = f"cmp_rg_{uuid.uuid4().hex[:6]}"
    leads = {f"l-rg-ok-{company}": {}, f"l-rg-unverified-{company}": {
        "contact": {"email": f"x@{company}.example".replace("_", "-"), "email_verified": False}}}
    batch = {"batch_id": f"sxp_{company}", "schema_version": "v1",
             "created_at": "2026-11-20T10:00:00Z", "source": "social-xpress-engine",
             "target": "nextier-execution",
             "records": [card(lead, company, **extra) for lead, extra in leads.items()]}
    producer = Producer({"bootstrap.servers": broker})
    # One reader for the whole test: by event id, as a record decided again after a stop emits
    # the same verdict again.
    reader = topic_reader(broker, "outreach.gate.verdict")
    unique: dict[str, dict[str, Any]] = {}

    def verdicts_within(timeout: float, step: int) -> dict[str, list[tuple[str, str]]]:
        deadline, seen = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            msg = reader.poll(0.5)
            if msg is not None and not msg.error():
                for v in verdicts_in(json.loads(msg.value())):
                    if v["company_sov_id"] == company:
                        unique[v["event_id"]] = v
            seen = {}
            for v in unique.values():
                seen.setdefault(v["lead_id"], []).append((v["verdict"], v["tier"]))
            if len(seen) == 2 and all(len(v) > step for v in seen.values()):
                break
        return seen

    try:
        for step in range(2):
            worker = WorkerProcess.start(broker, database_url, tmp_path / f"worker-{step}.log",
                                         env)
            try:
                worker.wait_ready(90)
                if step == 0:
                    producer.produce("bit-engine.score.evaluated", key=company,
                                     value=score(company, 60))
                    producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                                     value=json.dumps(batch).encode())
                else:  # a newer score, HOT -> BURNING, read by the restarted worker
                    producer.produce("bit-engine.score.evaluated", key=company,
                                     value=score(company, 80, "2026-11-20T11:00:00Z"))
                assert producer.flush(10) == 0
                seen = verdicts_within(60, step)
            finally:
                assert worker.stop() == 0, (tmp_path / f"worker-{step}.log").read_text()[-3000:]
    finally:
        reader.close()
    ok, unverified = leads
    assert seen == {ok: [("ALLOW", "HOT"), ("ALLOW", "BURNING")],
                    unverified: [("BLOCKED", "HOT"), ("BLOCKED", "BURNING")]}


def _two_partitions_apart(partitions: int) -> tuple[str, str]:
    """Two companies whose keys the hub's producers send to different partitions."""
    from streams.kernel.partitioning import partition_for

    tag = uuid.uuid4().hex[:6]
    first = f"cmp_pk_{tag}_0"
    other = next(c for c in (f"cmp_pk_{tag}_{n}" for n in range(1, 64))
                 if partition_for(c, partitions) != partition_for(first, partitions))
    return first, other


async def test_a_packed_card_of_another_partition_is_sent_on_alone_and_gated_once(
    hub: WorkerProcess, broker: str, database_url: str
) -> None:
    """Intake packs a batch's cards by partition. A record whose cards were packed for another
    partition count than the broker's holds a card whose company is elsewhere: the gate sends
    that card on alone under its company's key, and every card gets one verdict. The two cards
    of one company in the record are both remembered: a new score re-gates both."""
    from agents.intake.core import decide, read_batch
    from agents.intake.packing import packed
    from streams.contracts.codec import dumps
    from streams.contracts.ids import STABLE_IDS
    from streams.contracts.records import SourceRef

    # murmur2, as the hub's producers partition (librdkafka's default hashes otherwise).
    producer = Producer({"bootstrap.servers": broker, "partitioner": "murmur2_random"})
    topic = "outreach.lead-card.received"
    here, elsewhere = _two_partitions_apart(len(producer.list_topics(topic).topics[topic]
                                                .partitions))
    batch = {**good_batch(f"sxp_pk_{here}"), "records": [
        card(f"l-pk-a-{here}", here), card(f"l-pk-b-{here}", elsewhere),
        card(f"l-pk-c-{here}", here)]}
    source, now = SourceRef("social-xpress.lead-batch.ready", 0, 0), datetime.now(UTC)
    parsed = read_batch(json.dumps(batch).encode(), source, now, STABLE_IDS)
    emits = decide(None, parsed, source, now, STABLE_IDS).emits  # type: ignore[arg-type]
    [record] = [e for e in packed(emits, lambda _key: 0, 100, 500_000, STABLE_IDS)
                if e.topic == "lead_cards"]  # as if the topic had one partition
    for company in (here, elsewhere):
        producer.produce("bit-engine.score.evaluated", key=company, value=score(company, 60))
    assert producer.flush(10) == 0
    time.sleep(1)  # the scores first: no card waits
    producer.produce("outreach.lead-card.received", key=record.key, value=dumps(record.event))
    assert producer.flush(10) == 0

    leads = {c["lead_id"] for c in batch["records"]}
    sql = ("SELECT count(DISTINCT lead_id) FROM outreach.gate_verdicts WHERE lead_id = ANY("
           + "ARRAY[" + ",".join(f"'{lead}'" for lead in sorted(leads)) + "])")
    await wait_for(database_url, sql, 3)
    verdicts = [v for r in consume_until_idle(broker, "outreach.gate.verdict")
                for v in verdicts_in(r) if v["lead_id"] in leads]
    assert sorted(v["lead_id"] for v in verdicts) == sorted(leads)  # one each, none twice
    assert {v["verdict"] for v in verdicts} == {"ALLOW"}
    on_topic = consume_until_idle(broker, "outreach.lead-card.received")
    packs = [r for r in on_topic if r.get("type") == "lead_cards"
             and r["cards"][0]["lead_id"] in leads]
    assert [len(r["cards"]) for r in packs] == [3]
    # The card of the other partition, sent on alone as a card was before packing.
    [alone] = [r for r in on_topic if "type" not in r and r["lead_id"] in leads]
    assert alone["company_sov_id"] == elsewhere

    # The company's state after the record names both its leads (the second card was decided
    # on the state the first left): a score in another band re-gates the two of them.
    producer.produce("bit-engine.score.evaluated", key=here,
                     value=score(here, 30, evaluated_at="2026-11-20T11:00:00Z"))
    assert producer.flush(10) == 0
    mine = {f"l-pk-a-{here}", f"l-pk-c-{here}"}
    deadline, regated = time.monotonic() + 30, set()
    while time.monotonic() < deadline and regated != mine:
        regated = {v["lead_id"] for r in consume_until_idle(broker, "outreach.gate.verdict",
                                                            idle=2, timeout=10)
                   for v in verdicts_in(r)
                   if v["lead_id"] in mine and v["verdict"] == "CONTENT_ONLY"}
    assert regated == mine
