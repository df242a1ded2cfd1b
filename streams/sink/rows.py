"""Pure mapping of hub events to the rows of schema ``outreach`` (no I/O, testable alone).

Each ``Table`` says which event type feeds it, how one event becomes one row, and how its rows
reach PostgreSQL: one ``INSERT ... SELECT FROM unnest(...)`` per table and batch, so a batch costs
one round trip per table, and the command tag still reports how many rows really changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson

from streams.models import (
    BatchAudited,
    CampaignStateChanged,
    EngagementRecorded,
    HubEvent,
    LeadCardReceived,
    LeadGated,
    OutreachErrorRaised,
    SendRecorded,
    SequenceEventAppended,
    TouchRequested,
)
from streams.sink.exceptions import UnsupportedEvent

Row = dict[str, Any]


def to_json(value: Any) -> str:
    """JSON text for a jsonb parameter."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses integers beyond 64 bits; a verbatim card may still hold one.
        return json.dumps(value, ensure_ascii=False, default=str)


def _without_nul(value: Any) -> Any:
    # PostgreSQL text and jsonb cannot hold U+0000; a dead letter may (it is whatever arrived),
    # and one unstorable diagnostic must not wedge the sink.
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    array_type: str  # element type of the unnest() parameter
    select: str | None = None  # expression over u.<name> when the stored value needs converting


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    event_type: type[HubEvent]
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # sort order (a stable lock order across concurrent sinks)
    to_row: Callable[[Any], Row | None]
    on_conflict: str = "ON CONFLICT DO NOTHING"
    # Upserts cannot touch one row twice in a statement, so rows sharing a key are folded first.
    fold: Callable[[Row, Row], Row] | None = None

    @property
    def sql(self) -> str:
        names = ", ".join(c.name for c in self.columns)
        params = ", ".join(f"${i}::{c.array_type}[]" for i, c in enumerate(self.columns, 1))
        exprs = ", ".join(c.select or f"u.{c.name}" for c in self.columns)
        return (
            f"INSERT INTO outreach.{self.name} AS cur ({names}) "
            f"SELECT {exprs} FROM unnest({params}) AS u({names}) {self.on_conflict}"
        )

    def arguments(self, rows: Sequence[Row]) -> list[list[Any]]:
        """Column-wise parameter lists for ``sql``."""
        return [[row[c.name] for row in rows] for c in self.columns]


def _cols(spec: str) -> tuple[Column, ...]:
    # "name type, name type" keeps the table definitions below readable.
    return tuple(Column(*item.split()) for item in spec.split(","))


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
        "reasons": to_json(list(e.reasons)),
        "error_code": e.error_code,
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
    }


def _error(e: OutreachErrorRaised) -> Row:
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
        "record": None if e.record is None else to_json(_without_nul(e.record)),
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
    }


def _campaign_event(e: CampaignStateChanged) -> Row:
    return {
        "event_id": e.event_id,
        "campaign_id": e.campaign_id,
        "version": e.version,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "actor": e.actor,
        "reason": e.reason,
        "expires_at": e.expires_at,
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
    }


def _campaign(e: CampaignStateChanged) -> Row:
    return {
        "campaign_id": e.campaign_id,
        "state": e.to_state,
        "version": e.version,
        "expires_at": e.expires_at,
        "correlation_id": e.correlation_id,
    }


def fold_campaigns(a: Row, b: Row) -> Row:
    """Two transitions of one campaign in one batch, merged as the SQL upsert would."""
    newer, older = (b, a) if b["version"] > a["version"] else (a, b)
    # A transition without expires_at leaves the one set earlier (the DRAFT's TTL) in place.
    return newer | {k: older[k] for k in ("expires_at", "correlation_id") if newer[k] is None}


SEND_STATUS_RANK = {"scheduled": 1, "failed": 2, "sent": 3}  # = outreach.send_status_rank()


def _send(e: SendRecorded) -> Row:
    return {
        "idempotency_key": e.idempotency_key,
        "aggregate_id": e.aggregate_id,
        "touch_index": e.touch_index,
        "status": e.status,
        "provider": e.provider,
        "provider_message_id": e.provider_message_id,
        "failure_reason": e.failure_reason,
        "scheduled_at": e.occurred_at if e.status == "scheduled" else None,
        "sent_at": e.occurred_at if e.status == "sent" else None,
        "event_id": e.event_id,
        "correlation_id": e.correlation_id,
    }


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def fold_sends(a: Row, b: Row) -> Row:
    """Two reports of one touch in one batch: the further status wins, as in the SQL upsert."""
    later = b if SEND_STATUS_RANK[b["status"]] > SEND_STATUS_RANK[a["status"]] else a
    return later | {
        "scheduled_at": _earliest(a["scheduled_at"], b["scheduled_at"]),
        "sent_at": _earliest(a["sent_at"], b["sent_at"]),
    }


def _engagement(e: EngagementRecorded) -> Row:
    return {
        "event_id": e.event_id,
        "provider": e.provider,
        "provider_event_id": e.provider_event_id,
        "aggregate_id": e.aggregate_id,
        "campaign_id": e.campaign_id,
        "type": e.type,
        "bounce_kind": e.bounce_kind,
        "provider_message_id": e.provider_message_id,
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
        "occurred_at": e.occurred_at,
    }


def _touch_requested(e: TouchRequested) -> Row:
    """A touch handed to the sender is a send_log row in status scheduled."""
    return {
        "idempotency_key": e.idempotency_key,
        "aggregate_id": e.aggregate_id,
        "touch_index": e.touch_index,
        "status": "scheduled",
        "provider": None,
        "provider_message_id": None,
        "failure_reason": None,
        "scheduled_at": e.occurred_at,
        "sent_at": None,
        "event_id": e.event_id,
        "correlation_id": e.correlation_id,
    }


def _sequence_event(e: SequenceEventAppended) -> Row:
    payload = {"event_id": e.event_id, "touch_index": e.touch_index, "status": e.status,
               "correlation_id": e.correlation_id, "process_id": e.process_id, **e.detail}
    return {
        "aggregate_id": e.aggregate_id,
        "version": e.version,
        "idempotency_key": e.idempotency_key,
        "type": e.type,
        "payload": to_json(payload),
        "occurred_at": e.occurred_at,
    }


def _sequence(e: SequenceEventAppended) -> Row:
    return {
        "aggregate_id": e.aggregate_id,
        "sequence_id": e.sequence_id,
        "campaign_id": e.campaign_id,
        "contact_key": e.contact_key,
        "company_sov_id": e.company_sov_id,
        "status": e.status,
        "current_touch_index": e.current_touch_index,
        "version": e.version,
    }


def fold_sequences(a: Row, b: Row) -> Row:
    return b if b["version"] > a["version"] else a


_SEQUENCE_UPSERT = """ON CONFLICT (aggregate_id) DO UPDATE SET
    status = EXCLUDED.status, current_touch_index = EXCLUDED.current_touch_index,
    version = EXCLUDED.version, updated_at = now()
WHERE EXCLUDED.version > cur.version"""

SUPPRESSING_TYPES = frozenset({"unsubscribed", "complained"})


def _suppression(e: EngagementRecorded) -> Row | None:
    """Unsubscribe, complaint and hard bounce put the address (by its hash) on the list."""
    hard = e.type == "bounced" and e.bounce_kind == "hard"
    if e.type not in SUPPRESSING_TYPES and not hard:
        return None
    return {"address_hash": e.contact_key, "reason": "bounced" if hard else e.type,
            "source_event_id": e.event_id}


def _reply(e: EngagementRecorded) -> Row | None:
    if e.type != "replied":
        return None
    return {"event_id": e.event_id, "aggregate_id": e.aggregate_id,
            "provider_message_id": e.provider_message_id, "replied_at": e.occurred_at,
            "routed_to": e.campaign_id or e.aggregate_id}


_MOVES = "outreach.send_status_rank(EXCLUDED.status) > outreach.send_status_rank(cur.status)"
_SEND_UPSERT = f"""ON CONFLICT (idempotency_key) DO UPDATE SET
    status = CASE WHEN {_MOVES} THEN EXCLUDED.status ELSE cur.status END,
    provider = CASE WHEN {_MOVES} THEN COALESCE(EXCLUDED.provider, cur.provider)
        ELSE cur.provider END,
    provider_message_id = CASE WHEN {_MOVES}
        THEN COALESCE(EXCLUDED.provider_message_id, cur.provider_message_id)
        ELSE cur.provider_message_id END,
    failure_reason = CASE WHEN {_MOVES} THEN EXCLUDED.failure_reason ELSE cur.failure_reason END,
    event_id = CASE WHEN {_MOVES} THEN EXCLUDED.event_id ELSE cur.event_id END,
    scheduled_at = LEAST(cur.scheduled_at, EXCLUDED.scheduled_at),
    sent_at = COALESCE(cur.sent_at, EXCLUDED.sent_at),
    updated_at = now()
WHERE {_MOVES}
    OR cur.scheduled_at IS DISTINCT FROM LEAST(cur.scheduled_at, EXCLUDED.scheduled_at)"""

_CAMPAIGN_UPSERT = """ON CONFLICT (campaign_id) DO UPDATE SET
    state = EXCLUDED.state, version = EXCLUDED.version,
    expires_at = COALESCE(EXCLUDED.expires_at, cur.expires_at),
    correlation_id = COALESCE(EXCLUDED.correlation_id, cur.correlation_id),
    updated_at = now()
WHERE EXCLUDED.version > cur.version"""

_SEND_COLUMNS = _cols(
    "idempotency_key text, aggregate_id text, touch_index int, status text, provider text, "
    "provider_message_id text, failure_reason text, scheduled_at timestamptz, "
    "sent_at timestamptz, event_id text, correlation_id text"
)

_ENGAGEMENT_DERIVED = (
    Table("suppression_list", EngagementRecorded,
          _cols("address_hash text, reason text, source_event_id text"),
          ("address_hash",), _suppression),
    Table("reply_tracking", EngagementRecorded,
          _cols("event_id text, aggregate_id text, provider_message_id text, "
                "replied_at timestamptz, routed_to text"),
          ("event_id",), _reply),
)

# Written in this order, inside one transaction. The dependencies are deliberate: send_log
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
            # A ragged text[][] cannot be a parameter, so reasons travel as a jsonb array.
            Column("reasons", "jsonb", "ARRAY(SELECT jsonb_array_elements_text(u.reasons))"),
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
            "correlation_id text, process_id text, occurred_at timestamptz"
        ),
        ("event_id",),
        _error,
    ),
    Table(
        "campaign_events",
        CampaignStateChanged,
        _cols(
            "event_id text, campaign_id text, version int, from_state text, to_state text, "
            "actor text, reason text, expires_at timestamptz, correlation_id text, "
            "process_id text, occurred_at timestamptz"
        ),
        ("event_id",),
        _campaign_event,
    ),
    Table(
        "campaigns",
        CampaignStateChanged,
        _cols(
            "campaign_id text, state text, version int, expires_at timestamptz, correlation_id text"
        ),
        ("campaign_id",),
        _campaign,
        _CAMPAIGN_UPSERT,
        fold_campaigns,
    ),
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
)

SUPPORTED: frozenset[type[HubEvent]] = frozenset(t.event_type for t in TABLES)


def plan(events: Sequence[HubEvent]) -> list[tuple[Table, list[Row]]]:
    """The rows each table receives from a batch, sorted by key; tables without rows omitted.

    Raises UnsupportedEvent before anything is mapped, so a bad batch never half-writes.
    """
    for event in events:
        # Exact type: a subclass may carry fields no column keeps, so it must be declared.
        if type(event) not in SUPPORTED:
            raise UnsupportedEvent(type(event).__name__, event.event_id)
    planned: list[tuple[Table, list[Row]]] = []
    for table in TABLES:
        # A table may take only some events of its type (to_row returns None for the others).
        mapped = (table.to_row(e) for e in events if type(e) is table.event_type)
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
