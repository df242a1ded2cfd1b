"""PostgresSink against a real PostgreSQL: rows land where people query them, replays change
nothing, and a batch is all or nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from agents.dead_letter import refused_row
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    BatchAudited,
    CampaignStateChanged,
    Contact,
    EngagementRecorded,
    HubEvent,
    LeadCardReceived,
    LeadGated,
    OutreachErrorRaised,
    SendRecorded,
)
from streams.sink import PostgresSink, SinkWriteError, UnsupportedEvent, migrate

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 11, 18, 22, tzinfo=UTC)
PID = "outreach-execution-campaign-20260111-8f2c1a0b"
CORR = "corr-bit-7d1e"
BATCH = "sx-batch-2026-01-11-001"
EMAIL = "jane.doe@acmeroofing.com"
TABLES = (
    "audit_log", "lead_cards", "gate_verdicts", "outreach_errors", "campaigns",
    "campaign_events", "send_log", "engagement_events",
)


def card(lead_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "lead_id": lead_id, "source_platform": "tiktok", "username": "acme_roofs",
        "display_name": "Acme Roofing", "audience_pool": "wholesalers", "persona": "owner",
        "tribe": "builders", "execution_label": "USER", "confidence_score": 0.87,
        "enrichment_status": "ENRICHED", "contactability_score": 0.72,
        "created_at": "2026-01-11T17:59:00Z",
        "enrichment": {
            "company_sov_id": "cmp_8f2c1a", "company_name": "Acme Roofing",
            "domain": "acmeroofing.com", "domain_verified": True,
            "email_pattern": "{first}.{last}@acmeroofing.com", "lifecycle_state": "TARGETABLE",
            "contact": {"email": EMAIL, "email_verified": True, "first_name": "Jane",
                        "last_name": "Doe", "title": "Owner", "timezone": "America/Chicago"},
        },
        **extra,
    }


def received(lead_id: str, event_id: str | None = None, **extra: Any) -> LeadCardReceived:
    return LeadCardReceived(
        event_id=event_id or f"card:{BATCH}:{lead_id}", occurred_at=T0, correlation_id=CORR,
        process_id=PID, batch_id=BATCH, schema_version="1.0", lead_id=lead_id,
        company_sov_id="cmp_8f2c1a", enrichment_status="ENRICHED", disposition="FORWARDED",
        checksum="sha256:" + lead_id.encode().hex().ljust(64, "0")[:64],
        card=card(lead_id, **extra),
    )


def audited(event_id: str = f"audit:{BATCH}") -> BatchAudited:
    return BatchAudited(
        event_id=event_id, occurred_at=T0, correlation_id=CORR, process_id=PID, batch_id=BATCH,
        schema_version="1.0", target="outreach-hub", received_at=T0 - timedelta(seconds=2),
        checksum="sha256:" + "ab" * 32, status="success", cards_total=2, cards_forwarded=2,
    )


def gated(lead_id: str) -> LeadGated:
    return LeadGated(
        event_id=f"gate:{lead_id}:corr-bit-7d1e", occurred_at=T0, correlation_id=CORR,
        process_id=PID, lead_id=lead_id, batch_id=BATCH, company_sov_id="cmp_8f2c1a",
        bit_score=38.5, score_evaluated_at=T0 - timedelta(minutes=5), verdict="CONTENT_ONLY",
        tier="WARM", strategy="NEWSLETTER_CONTENT", reasons=("bit_below_threshold",),
        error_code="OUT-001", company_name="Acme Roofing", domain="acmeroofing.com",
        contact=Contact(email=EMAIL, email_verified=True, first_name="Jane", last_name="Doe"),
    )


def raised(event_id: str = "err:OUT-001:lead-0001") -> OutreachErrorRaised:
    return OutreachErrorRaised(
        event_id=event_id, occurred_at=T0, correlation_id=CORR, process_id=PID, code="OUT-001",
        severity="critical", stage="gate", reason="bit_below_threshold",
        source_topic="outreach.lead_cards.v1", source_partition=3, source_offset=1042,
        subject_id="lead-0001", record={"lead_id": "lead-0001", "bit_score": 38.5},
    )


def sent(status: str, at: datetime, event_id: str) -> SendRecorded:
    return SendRecorded(
        event_id=event_id, occurred_at=at, correlation_id=CORR,
        process_id="outreach-execution-send-20260111-0a1b2c3d", aggregate_id="seq-hot:ck_51a0",
        contact_key="ck_51a0", touch_index=1, idempotency_key="seq-hot:ck_51a0:1",
        status=status,  # type: ignore[arg-type]
        provider="postmark" if status != "scheduled" else None,
        provider_message_id="pm-msg-771" if status == "sent" else None,
    )


def engaged(kind: str, at: datetime, provider_event_id: str) -> EngagementRecorded:
    return EngagementRecorded(
        event_id=f"eng:postmark:{provider_event_id}", occurred_at=at, correlation_id=CORR,
        process_id="outreach-execution-engage-20260111-0a1b2c3d",
        aggregate_id="seq-hot:ck_51a0", contact_key="ck_51a0", campaign_id="cmp-2026-01",
        provider="postmark", provider_event_id=provider_event_id,
        type=kind,  # type: ignore[arg-type]
        provider_message_id="pm-msg-771",
    )


def transition(version: int, to_state: str, from_state: str | None) -> CampaignStateChanged:
    return CampaignStateChanged(
        event_id=f"campaign:cmp-2026-01:{version}", occurred_at=T0 + timedelta(hours=version),
        correlation_id=CORR, process_id=PID, campaign_id="cmp-2026-01", version=version,
        from_state=from_state, to_state=to_state, actor="ops@example",  # type: ignore[arg-type]
        expires_at=T0 + timedelta(days=7) if to_state == "draft" else None,
    )


@pytest.fixture
async def sink(database_url: str) -> AsyncIterator[PostgresSink]:
    sink = await PostgresSink.connect(database_url)
    await migrate(sink.pool)
    try:
        yield sink
    finally:
        await sink.close()


async def counts(sink: PostgresSink) -> dict[str, int]:
    async with sink.pool.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM outreach.{t}") for t in TABLES}


async def test_mixed_batch_lands_in_the_right_tables(sink: PostgresSink) -> None:
    unknown = {"x_partner_note": "met at expo", "x_scores": [1, 2.5, None, {"deep": True}]}
    batch: list[HubEvent] = [
        audited(), received("lead-0001", **unknown), received("lead-0002"), gated("lead-0001"),
        raised(),
    ]
    assert await sink.write(batch) == 5

    async with sink.pool.acquire() as conn:
        audit = await conn.fetchrow("SELECT * FROM outreach.audit_log")
        assert (audit["batch_id"], audit["status"], audit["cards_total"]) == (BATCH, "success", 2)
        assert audit["received_at"] == T0 - timedelta(seconds=2)
        assert audit["process_id"] == PID

        row = await conn.fetchrow(
            "SELECT * FROM outreach.lead_cards WHERE batch_id = $1 AND lead_id = $2",
            BATCH, "lead-0001",
        )
        # Verbatim: the stored jsonb equals the card as received, unknown fields included.
        assert json.loads(row["card"]) == card("lead-0001", **unknown)
        assert row["checksum"] == batch[1].checksum  # type: ignore[union-attr]
        assert (row["disposition"], row["received_at"]) == ("FORWARDED", T0)

        verdict = await conn.fetchrow("SELECT * FROM outreach.gate_verdicts")
        assert verdict["lead_id"] == "lead-0001"
        assert (verdict["verdict"], verdict["tier"], verdict["error_code"]) == (
            "CONTENT_ONLY", "WARM", "OUT-001")
        assert verdict["reasons"] == ["bit_below_threshold"]
        assert verdict["bit_score"] == 38.5
        assert EMAIL not in json.dumps(dict(verdict), default=str)

        error = await conn.fetchrow("SELECT * FROM outreach.outreach_errors")
        assert (error["code"], error["severity"], error["source_offset"]) == (
            "OUT-001", "critical", 1042)
        assert json.loads(error["record"]) == {"lead_id": "lead-0001", "bit_score": 38.5}


async def test_gate_verdicts_have_no_contact_columns(sink: PostgresSink) -> None:
    async with sink.pool.acquire() as conn:
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'outreach' AND table_name = 'gate_verdicts'"
        )
    names = {c["column_name"] for c in columns}
    assert not names & {"email", "first_name", "last_name", "contact", "company_name"}


async def test_writing_the_same_batch_twice_changes_nothing(sink: PostgresSink) -> None:
    batch: list[HubEvent] = [audited(), received("lead-0001"), gated("lead-0001"), raised()]
    assert await sink.write(batch) == 4
    before = await counts(sink)
    assert await sink.write(batch) == 0
    assert await counts(sink) == before


async def test_duplicates_among_new_events_insert_only_the_new(sink: PostgresSink) -> None:
    assert await sink.write([audited(), received("lead-0001")]) == 2
    again = [received("lead-0001"), received("lead-0002"), gated("lead-0002"), raised()]
    assert await sink.write(again) == 3
    # And within one batch: an event twice is one row.
    assert await sink.write([raised("err:2"), raised("err:2")]) == 1
    assert (await counts(sink))["lead_cards"] == 2
    assert (await counts(sink))["outreach_errors"] == 2


async def test_redelivered_card_under_a_new_event_id_is_not_stored_twice(
    sink: PostgresSink,
) -> None:
    assert await sink.write([received("lead-0001")]) == 1
    assert await sink.write([received("lead-0001", event_id="card:redelivered")]) == 0
    assert (await counts(sink))["lead_cards"] == 1


async def test_unsupported_event_raises_and_writes_nothing(sink: PostgresSink) -> None:
    class LeadTeleported(HubEvent):
        lead_id: str

    odd = LeadTeleported(
        event_id="tp:1", occurred_at=T0, correlation_id=CORR, process_id=PID, lead_id="lead-0001"
    )
    with pytest.raises(UnsupportedEvent, match="LeadTeleported") as info:
        await sink.write([audited(), received("lead-0001"), odd])
    assert info.value.event_id == "tp:1"
    assert set((await counts(sink)).values()) == {0}


async def test_a_refused_row_rolls_back_the_whole_batch(sink: PostgresSink) -> None:
    # jsonb cannot hold U+0000: PostgreSQL refuses this card after the audit row went in.
    poison = received("lead-0002", x_note="bad\x00byte")
    with pytest.raises(SinkWriteError, match="lead_cards"):
        await sink.write([audited(), received("lead-0001"), poison])
    assert set((await counts(sink)).values()) == {0}
    # The sink is still usable, and the good part of the batch goes in later.
    assert await sink.write([audited(), received("lead-0001")]) == 2


async def test_a_refusal_names_the_constraint_and_no_value_of_the_row(
    sink: PostgresSink, database_url: str
) -> None:
    # A card the models would never let through (they mirror the CHECK constraints): PostgreSQL
    # refuses it, and its DETAIL quotes the whole row, the email address included.
    bogus = received("lead-0003").model_copy(update={"disposition": "BOGUS"})
    with pytest.raises(SinkWriteError) as info:
        await sink.write([bogus])
    reason = str(info.value)
    assert "23514" in reason and "lead_cards_disposition_check" in reason
    values = [EMAIL, "lead-0003", BATCH, "acme", "Jane", "BOGUS", "Failing row"]
    assert not [v for v in values if v.lower() in reason.lower()], reason

    # The worker's sink sets such a row aside as an error row; its stored reason is as clean.
    def as_error_row(event: HubEvent, exc: SinkWriteError) -> HubEvent:
        return refused_row("postgres-sink", event, exc, T0, STABLE_IDS)

    assert await sink.write_or_set_aside([bogus, received("lead-0004")], as_error_row) == 2
    async with sink.pool.acquire() as conn:
        stored = await conn.fetchval("SELECT reason FROM outreach.outreach_errors")
    assert "lead_cards_disposition_check" in stored
    assert not [v for v in values if v.lower() in stored.lower()], stored


async def test_a_row_refused_for_its_data_becomes_an_error_row_and_the_rest_is_written(
    sink: PostgresSink,
) -> None:
    # The worker's sink writes with write_or_set_aside: a row PostgreSQL refuses every time
    # must not stall the stream, and must not be lost either.
    poison = received("lead-0002", x_note="bad\x00byte")
    set_aside: list[str] = []

    def as_error_row(event: HubEvent, exc: SinkWriteError) -> HubEvent:
        set_aside.append(exc.table)
        return refused_row("postgres-sink", event, exc, T0, STABLE_IDS)

    written = await sink.write_or_set_aside([audited(), received("lead-0001"), poison],
                                            as_error_row)
    assert written == 3 and set_aside == ["lead_cards"]
    got = await counts(sink)
    assert (got["audit_log"], got["lead_cards"], got["outreach_errors"]) == (1, 1, 1)
    async with sink.pool.acquire() as conn:
        reason = await conn.fetchval("SELECT reason FROM outreach.outreach_errors")
    assert reason.startswith("PostgreSQL refused the row: writing outreach.lead_cards failed")


async def test_send_status_never_moves_backwards(sink: PostgresSink) -> None:
    scheduled = sent("scheduled", T0, "send:1:scheduled")
    delivered = sent("sent", T0 + timedelta(minutes=1), "send:1:sent")
    assert await sink.write([scheduled]) == 1
    assert await sink.write([delivered]) == 1
    assert await sink.write([scheduled, delivered]) == 0  # a late 'scheduled' and a replay
    async with sink.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM outreach.send_log")
    assert (row["status"], row["provider_message_id"], row["event_id"]) == (
        "sent", "pm-msg-771", "send:1:sent")
    assert (row["scheduled_at"], row["sent_at"]) == (T0, T0 + timedelta(minutes=1))


async def test_send_reports_out_of_order_in_one_batch(sink: PostgresSink) -> None:
    batch: list[HubEvent] = [
        sent("sent", T0 + timedelta(minutes=1), "send:1:sent"), sent("scheduled", T0, "s:1")
    ]
    assert await sink.write(batch) == 1
    async with sink.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT status, scheduled_at, sent_at FROM outreach.send_log")
    assert tuple(row) == ("sent", T0, T0 + timedelta(minutes=1))


async def test_engagement_is_recorded_once_and_stamps_the_send(sink: PostgresSink) -> None:
    opened = engaged("opened", T0 + timedelta(hours=1), "pm-ev-1")
    # The engagement may arrive before the send report; the result is the same.
    assert await sink.write([opened]) == 1
    assert await sink.write([sent("sent", T0, "send:1:sent")]) == 2  # row + opened_at stamp
    assert await sink.write([opened, engaged("opened", T0 + timedelta(hours=2), "pm-ev-1")]) == 0
    replied = engaged("replied", T0 + timedelta(hours=3), "pm-ev-2")
    assert await sink.write([replied]) == 3  # event, replied_at stamp, reply_tracking row
    async with sink.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT opened_at, replied_at FROM outreach.send_log")
        assert tuple(row) == (T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    assert (await counts(sink))["engagement_events"] == 2


async def test_campaign_transitions_and_projection(sink: PostgresSink) -> None:
    v1, v2 = transition(1, "draft", "requested"), transition(2, "scheduled", "draft")
    assert await sink.write([v2, v1]) == 3  # two events, one projection row
    assert await sink.write([v1]) == 0  # a late older version does not roll the campaign back
    async with sink.pool.acquire() as conn:
        campaign = await conn.fetchrow("SELECT * FROM outreach.campaigns")
        versions = await conn.fetch(
            "SELECT version, to_state FROM outreach.campaign_events ORDER BY version"
        )
    assert (campaign["state"], campaign["version"]) == ("scheduled", 2)
    assert campaign["expires_at"] == T0 + timedelta(days=7)
    assert [tuple(v) for v in versions] == [(1, "draft"), (2, "scheduled")]


async def test_logs_hold_no_email_address(
    sink: PostgresSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="streams.sink")
    await sink.write([audited(), received("lead-0001"), gated("lead-0001")])
    with pytest.raises(SinkWriteError):
        await sink.write([received("lead-0009", x_note="\x00")])
    assert caplog.records, "the sink should log what it wrote"
    assert EMAIL not in caplog.text
    assert "acmeroofing" not in caplog.text


async def test_empty_batch_is_a_no_op(sink: PostgresSink) -> None:
    assert await sink.write([]) == 0


async def test_rows_are_queryable_with_a_plain_connection(
    sink: PostgresSink, database_url: str
) -> None:
    await sink.write([audited(), gated("lead-0001")])
    conn = await asyncpg.connect(database_url)
    try:
        latest = await conn.fetchval(
            "SELECT verdict FROM outreach.gate_verdicts WHERE lead_id = $1 "
            "ORDER BY occurred_at DESC LIMIT 1", "lead-0001",
        )
        assert latest == "CONTENT_ONLY"
    finally:
        await conn.close()
