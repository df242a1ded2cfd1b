"""Pure mapping of hub events to the rows of schema ``outreach`` (no I/O, testable alone).

Each ``Table`` says which event type feeds it, how one event becomes one row, and how its rows
reach PostgreSQL: a COPY into its staging table and one ``INSERT ... SELECT ... ON CONFLICT`` per
table and batch (streams/sink/table.py), so the command tag still reports how many rows really
changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from streams.contracts.models import (
    BatchAudited,
    CampaignAudited,
    EngagementRecorded,
    HubEvent,
    LeadCardReceived,
    LeadGated,
    OutreachErrorRaised,
    SendRecorded,
    SequenceEventAppended,
    TouchRequested,
)
from streams.sink.campaign_rows import CAMPAIGN_TABLES
from streams.sink.delivery_rows import (
    _ENGAGEMENT_DERIVED,
    _SEND_COLUMNS,
    _SEND_UPSERT,
    _SEQUENCE_UPSERT,
    _engagement,
    _send,
    _sequence,
    _sequence_event,
    _touch_requested,
    fold_sends,
    fold_sequences,
)
from streams.sink.exceptions import UnsupportedEvent
from streams.sink.health_rows import HEALTH_TABLES
from streams.sink.table import Column, Row, Table, _cols, _without_nul, to_json


def _audit(e: BatchAudited) -> Row:
    return {
        "event_id": e.event_id,
        "batch_id": e.batch_id,
        "schema_version": e.schema_version,
        "target": e.target,
        "received_at": e.received_at,
        "checksum": e.checksum,
        "status": e.status,
        "reason": e.reason,
        "cards_total": e.cards_total,
        "cards_forwarded": e.cards_forwarded,
        "cards_not_forwarded": e.cards_not_forwarded,
        "cards_rejected": e.cards_rejected,
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
    }


def _campaign_audit(e: CampaignAudited) -> Row:
    return {
        "event_id": e.event_id,
        "campaign_id": e.campaign_id,
        "verdict": e.verdict,
        "findings": to_json([f.model_dump(mode="json") for f in e.findings]),
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
    }


def _card(e: LeadCardReceived) -> Row:
    return {
        "batch_id": e.batch_id,
        "lead_id": e.lead_id,
        "event_id": e.event_id,
        "schema_version": e.schema_version,
        "company_sov_id": e.company_sov_id,
        "enrichment_status": e.enrichment_status,
        "disposition": e.disposition,
        "reason": e.reason,
        "checksum": e.checksum,
        "card": to_json(e.card),
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "received_at": e.occurred_at,
    }


def _verdict(e: LeadGated) -> Row:
    # company_name, domain and contact are left out on purpose: lead_cards already holds them.
    return {
        "event_id": e.event_id,
        "lead_id": e.lead_id,
        "batch_id": e.batch_id,
        "company_sov_id": e.company_sov_id,
        "bit_score": e.bit_score,
        "score_evaluated_at": e.score_evaluated_at,
        "verdict": e.verdict,
        "tier": e.tier,
        "strategy": e.strategy,
        "reasons": list(e.reasons),
        "error_code": e.error_code,
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
    }


def _error(e: OutreachErrorRaised) -> Row:
    record = None if e.record is None else _without_nul(e.record)
    key = None if e.source_key is None else _without_nul(e.source_key)
    return {
        "event_id": e.event_id,
        "code": e.code,
        "severity": e.severity,
        "stage": e.stage,
        "reason": _without_nul(e.reason),
        "source_topic": e.source_topic,
        "source_partition": e.source_partition,
        "source_offset": e.source_offset,
        "subject_id": _without_nul(e.subject_id),
        "record": None if record is None else to_json(record),
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
        "source_key": key,
        # A record or key that had to lose a NUL to be stored would not replay as it came.
        "replayable": e.replayable and record == e.record and key == e.source_key,
    }


# rows exist before engagement timestamps are copied onto them (see postgres.py).
TABLES: tuple[Table, ...] = (
    Table(
        "audit_log",
        BatchAudited,
        _cols(
            "event_id text, batch_id text, schema_version text, target text, "
            "received_at timestamptz, checksum text, status text, reason text, cards_total int, "
            "cards_forwarded int, cards_not_forwarded int, cards_rejected int, "
            "correlation_id text, process_id text, occurred_at timestamptz"
        ),
        ("event_id",),
        _audit,
    ),
    Table(
        "audit_log",
        CampaignAudited,
        _cols(
            "event_id text, campaign_id text, verdict text, findings jsonb, correlation_id text, "
            "process_id text, occurred_at timestamptz"
        ),
        ("event_id",),
        _campaign_audit,
    ),
    Table(
        "lead_cards",
        LeadCardReceived,
        _cols(
            "batch_id text, lead_id text, event_id text, schema_version text, company_sov_id text, "
            "enrichment_status text, disposition text, reason text, checksum text, card jsonb, "
            "correlation_id text, process_id text, received_at timestamptz"
        ),
        ("batch_id", "lead_id"),
        _card,
    ),
    Table(
        "gate_verdicts",
        LeadGated,
        (
            *_cols(
                "event_id text, lead_id text, batch_id text, company_sov_id text, "
                "bit_score float8, score_evaluated_at timestamptz, verdict text, tier text, "
                "strategy text"
            ),
            Column("reasons", "text[]"),
            *_cols(
                "error_code text, correlation_id text, process_id text, occurred_at timestamptz"
            ),
        ),
        ("event_id",),
        _verdict,
    ),
    Table(
        "outreach_errors",
        OutreachErrorRaised,
        _cols(
            "event_id text, code text, severity text, stage text, reason text, source_topic text, "
            "source_partition int, source_offset int8, subject_id text, record jsonb, "
            "correlation_id text, process_id text, occurred_at timestamptz, source_key text, "
            "replayable bool"
        ),
        ("event_id",),
        _error,
    ),
    *CAMPAIGN_TABLES,
    Table(
        "send_log",
        SendRecorded,
        _SEND_COLUMNS,
        ("idempotency_key",),
        _send,
        _SEND_UPSERT,
        fold_sends,
    ),
    Table(
        "send_log",
        TouchRequested,
        _SEND_COLUMNS,
        ("idempotency_key",),
        _touch_requested,
        _SEND_UPSERT,
        fold_sends,
    ),
    Table(
        "sequence_events",
        SequenceEventAppended,
        _cols(
            "aggregate_id text, version int, idempotency_key text, type text, payload jsonb, "
            "occurred_at timestamptz"
        ),
        ("aggregate_id", "version"),
        _sequence_event,
    ),
    Table(
        "sequences",
        SequenceEventAppended,
        _cols(
            "aggregate_id text, sequence_id text, campaign_id text, contact_key text, "
            "company_sov_id text, status text, current_touch_index int, version int"
        ),
        ("aggregate_id",),
        _sequence,
        _SEQUENCE_UPSERT,
        fold_sequences,
    ),
    Table(
        "engagement_events",
        EngagementRecorded,
        _cols(
            "event_id text, provider text, provider_event_id text, aggregate_id text, "
            "campaign_id text, type text, bounce_kind text, provider_message_id text, "
            "correlation_id text, process_id text, occurred_at timestamptz"
        ),
        ("event_id",),
        _engagement,
    ),
    *_ENGAGEMENT_DERIVED,
    *HEALTH_TABLES,
)

SUPPORTED: frozenset[type[HubEvent]] = frozenset(t.event_type for t in TABLES)


def plan(events: Sequence[HubEvent]) -> list[tuple[Table, list[Row]]]:
    """The rows each table receives from a batch, sorted by key; tables without rows omitted.

    Raises UnsupportedEvent before anything is mapped, so a bad batch never half-writes.
    """
    by_type: dict[type[HubEvent], list[HubEvent]] = {}
    for event in events:
        # Exact type: a subclass may carry fields no column keeps, so it must be declared.
        if type(event) not in SUPPORTED:
            raise UnsupportedEvent(type(event).__name__, event.event_id)
        by_type.setdefault(type(event), []).append(event)
    planned: list[tuple[Table, list[Row]]] = []
    for table in TABLES:
        # A table may take only some events of its type (to_row returns None for the others).
        mapped = map(table.to_row, by_type.get(table.event_type, ()))
        rows = [row for row in mapped if row is not None]
        if not rows:
            continue
        key_of = itemgetter(*table.key)
        if table.fold is not None:
            folded: dict[Any, Row] = {}
            for row in rows:
                key = key_of(row)
                folded[key] = table.fold(folded[key], row) if key in folded else row
            rows = list(folded.values())
        rows.sort(key=key_of)
        planned.append((table, rows))
    return planned
