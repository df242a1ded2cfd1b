"""One campaign's durable record, read from PostgreSQL into the auditor's input.

One bounded query per table (the campaign's approvals, sequences, sends; its persons' other
sends, stops and suppressions). A query that would return more than ``max_rows`` refuses
instead of auditing part of a record.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from agents.campaigns.audit_input import (
    AuditLimits,
    CampaignRecord,
    Enrolled,
    SendRow,
    StopRow,
    SuppressionRow,
)
from streams.contracts.exceptions import HubError
from streams.contracts.models.campaign import ApprovalTerms

MAX_ROWS = 200_000


class RecordTooLarge(HubError):
    """The campaign's record is larger than one audit reads."""


_APPROVALS = """SELECT terms AS approval FROM outreach.campaign_events
WHERE campaign_id = $1 AND terms IS NOT NULL ORDER BY version LIMIT $2"""
_SEQUENCES = """SELECT aggregate_id, contact_key, status FROM outreach.sequences
WHERE campaign_id = $1 ORDER BY aggregate_id LIMIT $2"""
_SEND_FIELDS = """idempotency_key, aggregate_id, campaign_id, touch_index, status,
    content_digest, scheduled_at, sent_at"""
_SENDS = f"""SELECT {_SEND_FIELDS} FROM outreach.send_log
WHERE campaign_id = $1 ORDER BY idempotency_key LIMIT $2"""
# The same persons' sends under other campaigns (cooling-off is across campaigns).
_OTHER_SENDS = f"""SELECT {_SEND_FIELDS} FROM outreach.send_log
WHERE aggregate_id IN (SELECT aggregate_id FROM outreach.sequences
                       WHERE contact_key = ANY($1::text[]))
  AND campaign_id IS DISTINCT FROM $2
ORDER BY idempotency_key LIMIT $3"""
_STOPS = """SELECT aggregate_id,
       CASE WHEN type = 'bounced' THEN 'bounced_' || coalesce(bounce_kind, 'soft') ELSE type END
           AS type,
       occurred_at
FROM outreach.engagement_events
WHERE aggregate_id = ANY($1::text[])
  AND type IN ('replied', 'unsubscribed', 'complained', 'meeting_booked', 'bounced')
UNION ALL
SELECT aggregate_id, type, occurred_at FROM outreach.sequence_events
WHERE aggregate_id = ANY($1::text[]) AND type = 'sequence_stopped'
ORDER BY 1, 3 LIMIT $2"""
# The suppression's time is its source event's, when the sink kept it.
_SUPPRESSIONS = """SELECT s.address_hash, s.reason, coalesce(e.occurred_at, s.created_at) AS since
FROM outreach.suppression_list s
LEFT JOIN outreach.engagement_events e ON e.event_id = s.source_event_id
WHERE s.address_hash = ANY($1::text[]) ORDER BY 1 LIMIT $2"""


def _contact_key(aggregate_id: str) -> str:
    return aggregate_id.rsplit(":", 1)[-1]  # {sequence_id}:{contact_key}


def _send(row: Any) -> SendRow:
    return SendRow(
        idempotency_key=row["idempotency_key"], aggregate_id=row["aggregate_id"],
        contact_key=_contact_key(row["aggregate_id"]), campaign_id=row["campaign_id"],
        touch_index=row["touch_index"], status=row["status"],
        content_digest=row["content_digest"], requested_at=row["scheduled_at"],
        sent_at=row["sent_at"])


def terms_of(approvals: list[Any]) -> ApprovalTerms | None:
    """The latest approval's terms; its digests are every approval's, so a send made under an
    earlier approval (before a modified scope was approved again) is judged by what was
    approved then."""
    terms = [ApprovalTerms.model_validate(_json(a)) for a in approvals]
    if not terms:
        return None
    digests = tuple(dict.fromkeys(d for t in terms for d in t.content_digests))
    return terms[-1].model_copy(update={"content_digests": digests})


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def _fetch(conn: asyncpg.Connection, sql: str, *args: Any, max_rows: int) -> list[Any]:
    rows = await conn.fetch(sql, *args, max_rows + 1)
    if len(rows) > max_rows:
        raise RecordTooLarge(f"the campaign's record has more than {max_rows} rows in one table")
    return list(rows)


async def load_record(conn: asyncpg.Connection, campaign_id: str, limits: AuditLimits,
                      max_rows: int = MAX_ROWS) -> CampaignRecord:
    approvals = await _fetch(conn, _APPROVALS, campaign_id, max_rows=max_rows)
    sequences = await _fetch(conn, _SEQUENCES, campaign_id, max_rows=max_rows)
    sends = [_send(r) for r in await _fetch(conn, _SENDS, campaign_id, max_rows=max_rows)]
    aggregates = sorted({r["aggregate_id"] for r in sequences} | {s.aggregate_id for s in sends})
    contacts = sorted({_contact_key(a) for a in aggregates})
    others = await _fetch(conn, _OTHER_SENDS, contacts, campaign_id, max_rows=max_rows)
    stops = await _fetch(conn, _STOPS, aggregates, max_rows=max_rows)
    suppressions = await _fetch(conn, _SUPPRESSIONS, contacts, max_rows=max_rows)
    return CampaignRecord(
        campaign_id=campaign_id,
        terms=terms_of([r["approval"] for r in approvals]),
        enrolled=tuple(Enrolled(aggregate_id=r["aggregate_id"], contact_key=r["contact_key"],
                                status=r["status"]) for r in sequences),
        sends=tuple(sends),
        other_sends=tuple(_send(r) for r in others),
        stops=tuple(StopRow(aggregate_id=r["aggregate_id"], type=r["type"],
                            occurred_at=r["occurred_at"]) for r in stops),
        suppressions=tuple(SuppressionRow(contact_key=r["address_hash"], reason=r["reason"],
                                          since=r["since"]) for r in suppressions),
        limits=limits)
