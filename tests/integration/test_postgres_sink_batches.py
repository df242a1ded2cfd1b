"""The sink at volume against a real PostgreSQL: batches of thousands of rows go through COPY
and a staging table, and keep what the row-at-a-time semantics promised: a replay writes
nothing, duplicates inside a batch are one row, a later status still updates its row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from streams.contracts.models import (
    CampaignHealthEvaluated,
    EngagementRecorded,
    HubEvent,
    LeadGated,
    SendRecorded,
    TouchRequested,
)
from streams.sink import PostgresSink, migrate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)
PID = "outreach-execution-campaign-20261125-0a1b2c3d"
N = 3000


def verdict(n: int) -> LeadGated:
    return LeadGated(
        event_id=f"gate:lead-{n}", occurred_at=T0, correlation_id=f"bit-{n % 7}", process_id=PID,
        lead_id=f"lead-{n}", batch_id=f"batch-{n // 1000}", company_sov_id=f"cmp_{n % 7}",
        bit_score=float(n % 100), score_evaluated_at=T0 - timedelta(minutes=5),
        verdict="CONTENT_ONLY" if n % 2 else "ALLOW", tier="WARM" if n % 2 else "HOT",
        strategy="NEWSLETTER_CONTENT" if n % 2 else "PERSONALIZED_EMAIL",
        # Ragged on purpose: each row's own text[] travels through COPY as itself.
        reasons=("bit_below_threshold", "no_title")[: n % 3], error_code=None)


def touch(n: int) -> TouchRequested:
    agg = f"seq-x:ck_{n}"
    return TouchRequested(
        event_id=f"touch:{agg}:1", occurred_at=T0, correlation_id="c", process_id=PID,
        aggregate_id=agg, sequence_id="s", campaign_id="cmp-1", contact_key=f"ck_{n}",
        touch_index=1, channel="email", due_at=T0, idempotency_key=f"{agg}:1",
        content_digest="sha256:" + "ab" * 32)


def report(n: int, status: str = "sent") -> SendRecorded:
    agg = f"seq-x:ck_{n}"
    return SendRecorded(
        event_id=f"send:{agg}:1:{status}", occurred_at=T0 + timedelta(minutes=1),
        correlation_id="c", process_id=PID, aggregate_id=agg, contact_key=f"ck_{n}",
        touch_index=1, idempotency_key=f"{agg}:1", status=status,  # type: ignore[arg-type]
        provider="sandbox", provider_message_id=f"msg-{n}" if status == "sent" else None)


def opened(n: int) -> EngagementRecorded:
    return EngagementRecorded(
        event_id=f"eng:sandbox:open-{n}", occurred_at=T0 + timedelta(hours=1),
        correlation_id="c", process_id="outreach-execution-engage-20261125-0a1b2c3d",
        aggregate_id=f"seq-x:ck_{n}", contact_key=f"ck_{n}", campaign_id="cmp-1",
        provider="sandbox", provider_event_id=f"open-{n}", type="opened",
        provider_message_id=f"msg-{n}")


def health(n: int) -> CampaignHealthEvaluated:
    return CampaignHealthEvaluated(
        event_id=f"health:{n}", occurred_at=T0, correlation_id="c", process_id=PID,
        verdict_id=f"verdict-{n}", campaign_id=f"cmp-{n}", sending_domain="hub.example",
        window_start=T0 - timedelta(days=1), window_end=T0, sends=100, hard_bounces=n % 3,
        complaints=0, opens=10, replies=1, bounce_rate=0.01 * (n % 3), complaint_rate=0.0,
        engagement_rate=0.1, verdict="REVIEW" if n % 3 else "HEALTHY",
        reasons=("bounce_rate_high",) * (n % 3 > 0), evaluated_at=T0)


@pytest.fixture
async def sink(database_url: str) -> AsyncIterator[PostgresSink]:
    sink = await PostgresSink.connect(database_url)
    await migrate(sink.pool)
    try:
        yield sink
    finally:
        await sink.close()


async def count(sink: PostgresSink, table: str) -> int:
    async with sink.pool.acquire() as conn:
        return int(await conn.fetchval(f"SELECT count(*) FROM outreach.{table}"))


async def test_a_replayed_large_batch_writes_nothing(sink: PostgresSink) -> None:
    batch: list[HubEvent] = [verdict(n) for n in range(N)] + [touch(n) for n in range(N)]
    batch += [health(n) for n in range(30)]
    assert await sink.write(batch) == 2 * N + 30
    assert await sink.write(batch) == 0
    assert (await count(sink, "gate_verdicts"), await count(sink, "send_log")) == (N, N)
    async with sink.pool.acquire() as conn:
        reasons = await conn.fetch(
            "SELECT lead_id, reasons FROM outreach.gate_verdicts WHERE lead_id IN "
            "('lead-0', 'lead-1', 'lead-2') ORDER BY lead_id")
        stored_health = await conn.fetchval(
            "SELECT reasons FROM outreach.campaign_health WHERE verdict_id = 'verdict-1'")
    assert [(r["lead_id"], r["reasons"]) for r in reasons] == [
        ("lead-0", []), ("lead-1", ["bit_below_threshold"]),
        ("lead-2", ["bit_below_threshold", "no_title"])]
    assert stored_health == ["bounce_rate_high"]


async def test_a_batch_with_duplicates_inside_stores_each_row_once(sink: PostgresSink) -> None:
    assert await sink.write([verdict(n) for n in range(0, N, 2)]) == N // 2
    # Half already stored, every event of the batch twice, shuffled by the interleave.
    batch: list[HubEvent] = [e for n in range(N) for e in (verdict(n), verdict(N - 1 - n))]
    batch += [touch(n) for n in range(N)] + [touch(n) for n in range(N)]
    assert await sink.write(batch) == N // 2 + N
    assert (await count(sink, "gate_verdicts"), await count(sink, "send_log")) == (N, N)


async def test_later_statuses_of_a_large_batch_still_update_their_rows(
    sink: PostgresSink,
) -> None:
    assert await sink.write([touch(n) for n in range(N)]) == N
    # Sent reports, and in the same batch some late 'scheduled' reports that must not win.
    batch: list[HubEvent] = [report(n) for n in range(N)]
    batch += [report(n, "scheduled") for n in range(0, N, 3)]
    assert await sink.write(batch) == N
    # Opens of a third of them: the engagement rows and the send rows' opened_at stamps.
    assert await sink.write([opened(n) for n in range(0, N, 3)]) == 2 * (N // 3)
    assert await sink.write(batch + [opened(n) for n in range(0, N, 3)]) == 0
    async with sink.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n, count(opened_at) AS opened, "
            "count(content_digest) AS digests FROM outreach.send_log GROUP BY status")
    assert [tuple(r) for r in rows] == [("sent", N, N // 3, N)]
