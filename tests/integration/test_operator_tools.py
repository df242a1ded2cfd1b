"""`outreach-hub dlq` and `state show` on the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agents.dead_letter import dead_letter
from agents.sequencer.enrollment import contact_key_for
from streams.admin import create_topics
from streams.cli import main
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.records import SourceRef
from streams.contracts.topics import load_catalog
from streams.kernel.kafka_security import PLAINTEXT
from streams.sink import PostgresSink, migrate

pytestmark = pytest.mark.integration
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
EMAIL = "Jane.Doe@acme.com"


async def _migrated(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()


async def _store(database_url: str, *events: OutreachErrorRaised) -> None:
    sink = await PostgresSink.connect(database_url)
    try:
        await sink.write(list(events))
    finally:
        await sink.close()


async def _read_all(bootstrap: str, topic: str) -> list[tuple[bytes | None, bytes]]:
    # No group: every partition from its start, without waiting for a group to form.
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        out: list[tuple[bytes | None, bytes]] = []
        while got := await consumer.getmany(timeout_ms=3000):
            out += [(m.key, m.value) for batch in got.values() for m in batch]
        return out
    finally:
        await consumer.stop()


def _letter(topic: str, offset: int, raw: bytes, key: bytes | None) -> OutreachErrorRaised:
    event = dead_letter("sender", raw, SourceRef(topic, 0, offset), KeyError("to_email"), NOW,
                        STABLE_IDS, key=key, key_known=True).emits[0].event
    assert isinstance(event, OutreachErrorRaised)
    return event


async def test_dlq_list_show_and_replay_exactly_once(
    kafka_bootstrap: str, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A topic of its own, declared through the partitions override like any catalog topic.
    spec = load_catalog()["send_requests"]
    await create_topics(kafka_bootstrap, [spec], security=PLAINTEXT)
    before = len(await _read_all(kafka_bootstrap, spec.name))
    await _migrated(database_url)
    raw = orjson.dumps({"touch": 1, "to_email": EMAIL, "n": uuid.uuid4().hex})
    good = _letter(spec.name, 41, raw, b"ck-" + uuid.uuid4().hex.encode())
    broken = _letter(spec.name, 42, b"{not json", b"k")
    await _store(database_url, good, broken)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", database_url)
    monkeypatch.setenv("OUTREACH_KAFKA_BOOTSTRAP", kafka_bootstrap)

    assert await asyncio.to_thread(main, ["dlq", "list"]) == 0
    listed = capsys.readouterr().out
    assert good.event_id in listed and broken.event_id in listed
    assert f"{spec.name}/0/41" in listed and "acme" not in listed and "2 dead letter(s)" in listed
    assert await asyncio.to_thread(main, ["dlq", "list", "--code", "DLQ-MALFORMED", "--json"]) == 0
    assert [d["id"] for d in orjson.loads(capsys.readouterr().out)] == [broken.event_id]

    assert await asyncio.to_thread(main, ["dlq", "show", good.event_id[:12]]) == 0
    shown = capsys.readouterr().out
    assert "***@acme.com" in shown and EMAIL not in shown
    assert await asyncio.to_thread(main, ["dlq", "show", good.event_id, "--reveal"]) == 0
    assert EMAIL in capsys.readouterr().out

    assert await asyncio.to_thread(main, ["dlq", "replay", good.event_id, "--yes"]) == 0
    assert f"replayed {good.event_id} to {spec.name}/" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["dlq", "replay", good.event_id, "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: dead letter {good.event_id} was already replayed")
    assert err.count("\n") == 1
    assert await asyncio.to_thread(main, ["dlq", "replay", broken.event_id, "--yes"]) == 2
    assert "does not hold the whole source record" in capsys.readouterr().err

    # Equal as JSON, not byte for byte: PostgreSQL's jsonb keeps its own key order.
    records = (await _read_all(kafka_bootstrap, spec.name))[before:]
    assert [(k, orjson.loads(v)) for k, v in records] == [
        (str(good.source_key).encode(), orjson.loads(raw))
    ]
    assert await asyncio.to_thread(main, ["dlq", "list"]) == 0
    assert "replayed" in capsys.readouterr().out


async def test_state_show_reads_the_changelog_and_postgresql(
    kafka_bootstrap: str, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from agents.sequencer.storage import decode, encode

    await _migrated(database_url)
    key = contact_key_for(EMAIL)
    agg = f"seq-a-1:{key}"
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO outreach.sequences (aggregate_id, sequence_id, contact_key, status, "
            "current_touch_index, version) VALUES ($1, 'seq-a', $2, 'stopped', 1, 3)", agg, key)
        await conn.execute(
            "INSERT INTO outreach.suppression_list (address_hash, reason) "
            "VALUES ($1, 'unsubscribed')", key)
    finally:
        await conn.close()
    due = NOW.timestamp() + 86400
    state = decode(key, orjson.dumps([
        1, 5, [agg, "seq-a", "PERSONALIZED_EMAIL", "enr-1", None, "cmp-1", "corr-1", EMAIL, None,
               2, [["touch_requested", 1, NOW.timestamp(), "~:1", None, None]], due],
        [], ["enr-1"], NOW.timestamp(), None]).decode())
    app_id = f"t-{uuid.uuid4().hex[:8]}"
    topic = f"{app_id}-sequencer-people-changelog"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:  # as Faust writes a table change: raw key, the value through its json serializer
        await producer.send_and_wait(topic, orjson.dumps(encode(state)), key=key.encode())
    finally:
        await producer.stop()
    monkeypatch.setenv("OUTREACH_DATABASE_URL", database_url)
    monkeypatch.setenv("OUTREACH_KAFKA_BOOTSTRAP", kafka_bootstrap)
    # Topics auto-created by the produce have the broker's default partition count: say one.
    assert await asyncio.to_thread(main, ["state", "show", EMAIL, "--app-id", app_id]) == 0
    out = capsys.readouterr().out
    assert f"contact_key        {key}" in out
    assert f"active sequence   {agg}" in out and "touches done      1" in out
    assert "next due          2025-03-05 12:00:00 UTC" in out
    assert "unsubscribed since" in out and f"{agg} stopped" in out
    assert EMAIL not in out and "Jane" not in out
