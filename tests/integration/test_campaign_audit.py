"""The campaign audit on the real PostgreSQL: events written through the real sink, read back by
the adapter, judged by the auditor, and the verdict stored in outreach.audit_log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from agents.campaigns.audit import audit
from agents.campaigns.audit_input import AuditLimits
from streams.adapters.campaign_record import load_record
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CampaignStateChanged,
    EngagementRecorded,
    HubEvent,
    SendRecorded,
    SequenceEventAppended,
    TouchRequested,
)
from streams.contracts.models.campaign import ApprovalTerms
from streams.sink import PostgresSink, migrate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CMP = "cmp-00000000000000a1"
CORR = "corr-audit-1"
OK = "sha256:" + "a" * 64
SEQ = "personalized-email-v1-00000000a1"
PEOPLE = ("ck1", "ck2")
LIMITS = AuditLimits(cooling_off_days=3, cap_per_mailbox=100, cap_per_domain=40)


def pid(kind: str) -> str:
    return f"outreach-execution-{kind}-20260302-0a1b2c3d"


def approved() -> CampaignStateChanged:
    return CampaignStateChanged(
        event_id=f"campaign:{CMP}:3", occurred_at=T0 - timedelta(hours=1), correlation_id=CORR,
        process_id=pid("campaign"), campaign_id=CMP, version=3, from_state="draft",
        to_state="active", actor="operator:ana",
        approval=ApprovalTerms(window_start=T0 - timedelta(minutes=30),
                               window_end=T0 + timedelta(days=10), max_sends_per_hour=10,
                               max_sends_per_day=10, content_digests=(OK,),
                               approved_by="operator:ana", approved_at=T0 - timedelta(hours=1)))


def touch(ck: str, index: int, at: datetime, digest: str = OK) -> list[HubEvent]:
    """What a touch leaves in the sink: the sequencer's append and request, the sender's report."""
    agg, key = f"{SEQ}:{ck}", f"{SEQ}:{ck}:step{index}"
    return [
        SequenceEventAppended(
            event_id=f"seq:{key}", occurred_at=at, correlation_id=CORR, process_id=pid("sequence"),
            aggregate_id=agg, version=index, idempotency_key=key, type="touch_requested",
            touch_index=index, sequence_id=SEQ, campaign_id=CMP, contact_key=ck,
            status="active", current_touch_index=index),
        TouchRequested(
            event_id=f"req:{key}", occurred_at=at, correlation_id=CORR, process_id=pid("sequence"),
            aggregate_id=agg, sequence_id=SEQ, campaign_id=CMP, contact_key=ck,
            touch_index=index, channel="email", subject="Hi", content_digest=digest,
            to_email="person@example.invalid", due_at=at, idempotency_key=key),
        SendRecorded(
            event_id=f"sent:{key}", occurred_at=at + timedelta(seconds=20), correlation_id=CORR,
            process_id=pid("send"), aggregate_id=agg, contact_key=ck, campaign_id=CMP,
            touch_index=index, idempotency_key=key, status="sent", provider="sandbox",
            provider_message_id=f"m-{key}"),
    ]


def completed(ck: str, version: int, at: datetime) -> SequenceEventAppended:
    agg = f"{SEQ}:{ck}"
    return SequenceEventAppended(
        event_id=f"seq:{agg}:done", occurred_at=at, correlation_id=CORR,
        process_id=pid("sequence"), aggregate_id=agg, version=version,
        idempotency_key=f"{agg}:done", type="sequence_completed", sequence_id=SEQ,
        campaign_id=CMP, contact_key=ck, status="completed", current_touch_index=version - 1)


def clean_campaign() -> list[HubEvent]:
    events: list[HubEvent] = [approved()]
    for i, ck in enumerate(PEOPLE):
        events += touch(ck, 1, T0 + timedelta(minutes=i))
        events += touch(ck, 2, T0 + timedelta(days=3, minutes=i))
        events.append(completed(ck, 3, T0 + timedelta(days=3, minutes=i, seconds=1)))
    return events


@pytest.fixture
async def sink(database_url: str) -> AsyncIterator[PostgresSink]:
    sink = await PostgresSink.connect(database_url)
    await migrate(sink.pool)
    try:
        yield sink
    finally:
        await sink.close()


async def judge(sink: PostgresSink) -> tuple[str, list[tuple[str, int, list[str]]]]:
    async with sink.pool.acquire() as conn:
        record = await load_record(conn, CMP, LIMITS)
    verdict = audit(record, T0 + timedelta(days=12), STABLE_IDS)
    await sink.write([verdict])
    async with sink.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT verdict, findings FROM outreach.audit_log WHERE event_id = $1",
            verdict.event_id)
    assert row is not None and row["verdict"] == verdict.verdict
    findings = [(f["rule"], f["count"], f["sample_ids"]) for f in orjson.loads(row["findings"])]
    return row["verdict"], findings


async def test_a_clean_campaign_read_from_postgres_passes(sink: PostgresSink) -> None:
    await sink.write(clean_campaign())
    assert await judge(sink) == ("PASS", [])


async def test_planted_violations_fail_with_their_findings(sink: PostgresSink) -> None:
    late = T0 + timedelta(days=11)  # after the approved window closed
    reply = EngagementRecorded(
        event_id="eng:reply:ck2", occurred_at=T0 + timedelta(days=1), correlation_id=CORR,
        process_id=pid("engage"), aggregate_id=f"{SEQ}:ck2", contact_key="ck2", campaign_id=CMP,
        provider="sandbox", provider_event_id="r-1", type="replied")
    await sink.write([*clean_campaign(), *touch("ck1", 3, late, digest="sha256:" + "f" * 64),
                      reply])
    verdict, findings = await judge(sink)
    assert verdict == "FAIL"
    step3 = [f"{SEQ}:ck1:step3"]
    # ck2's second touch came two days after the reply stopped its sequence.
    assert findings == [("after_stop", 1, [f"{SEQ}:ck2:step2"]),
                        ("outside_window", 1, step3), ("content_not_approved", 1, step3)]


async def test_a_touch_the_sender_never_reported_is_inconclusive(sink: PostgresSink) -> None:
    pending = touch("ck1", 3, T0 + timedelta(days=6))[:2]  # requested, no report
    await sink.write([*clean_campaign(), *pending])
    assert await judge(sink) == ("INCONCLUSIVE", [("send_result_missing", 1,
                                                   [f"{SEQ}:ck1:step3"])])


async def test_the_cli_prints_the_verdict_and_exits_by_it(
        sink: PostgresSink, database_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from streams import cli

    await sink.write([*clean_campaign(), *touch("ck1", 3, T0 + timedelta(days=11))])
    monkeypatch.setenv("OUTREACH_DATABASE_URL", database_url)
    code = await asyncio.to_thread(cli.main, ["campaigns", "audit", CMP])
    out = capsys.readouterr().out
    assert code == 1
    assert f"campaign {CMP}: FAIL" in out and "outside_window" in out and "@" not in out
