"""Rows of the delivery side: send_log, sequences, engagement, suppression, reply tracking.

The upserts only move forward (a send status never goes back, a sequence version never
decreases), so replays and late reports change nothing.
"""

from __future__ import annotations

from datetime import datetime

from streams.contracts.models import (
    EngagementRecorded,
    SendRecorded,
    SequenceEventAppended,
    TouchRequested,
)
from streams.sink.table import Row, Table, _cols, to_json

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
        "campaign_id": e.campaign_id,
        "content_digest": None,  # the request carries it (a report never changes it)
    }


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def fold_sends(a: Row, b: Row) -> Row:
    """Two reports of one touch in one batch: the further status wins, as in the SQL upsert."""
    later = b if SEND_STATUS_RANK[b["status"]] > SEND_STATUS_RANK[a["status"]] else a
    return later | {
        "scheduled_at": _earliest(a["scheduled_at"], b["scheduled_at"]),
        "sent_at": _earliest(a["sent_at"], b["sent_at"]),
        "campaign_id": a["campaign_id"] or b["campaign_id"],
        "content_digest": a["content_digest"] or b["content_digest"],
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
        "campaign_id": e.campaign_id,
        "content_digest": e.content_digest,
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
    campaign_id = COALESCE(cur.campaign_id, EXCLUDED.campaign_id),
    content_digest = COALESCE(cur.content_digest, EXCLUDED.content_digest),
    updated_at = now()
WHERE {_MOVES}
    OR cur.scheduled_at IS DISTINCT FROM LEAST(cur.scheduled_at, EXCLUDED.scheduled_at)
    OR (cur.campaign_id IS NULL AND EXCLUDED.campaign_id IS NOT NULL)
    OR (cur.content_digest IS NULL AND EXCLUDED.content_digest IS NOT NULL)"""

_SEND_COLUMNS = _cols(
    "idempotency_key text, aggregate_id text, touch_index int, status text, provider text, "
    "provider_message_id text, failure_reason text, scheduled_at timestamptz, "
    "sent_at timestamptz, event_id text, correlation_id text, campaign_id text, "
    "content_digest text"
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
