"""Campaign events -> `outreach.campaigns` (the latest version of each), `campaign_events`
(every transition) and `campaign_command_rejections` (every refused command)."""

from __future__ import annotations

from typing import Any

from streams.contracts.models import CampaignCommandRejected, CampaignStateChanged
from streams.sink.table import Row, Table, _cols, to_json


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return to_json(value.model_dump(mode="json") if hasattr(value, "model_dump") else value)


def _campaign_event(e: CampaignStateChanged) -> Row:
    return {
        "event_id": e.event_id, "campaign_id": e.campaign_id, "version": e.version,
        "from_state": e.from_state, "to_state": e.to_state, "actor": e.actor,
        "reason": e.reason, "expires_at": e.expires_at, "correlation_id": e.correlation_id,
        "process_id": e.process_id, "occurred_at": e.occurred_at, "command": e.command,
        "command_id": e.command_id, "draft_version": e.draft_version,
        "eligibility": _json(e.eligibility), "terms": _json(e.approval),
        "content_digests": _json(list(e.content_digests)),
        "health_verdict_id": e.health_verdict_id, "audit_verdict_id": e.audit_verdict_id,
        "audience": e.audience, "note": e.note,
    }


def _campaign(e: CampaignStateChanged) -> Row:
    terms = e.approval
    return {
        "campaign_id": e.campaign_id, "state": e.to_state, "version": e.version,
        "expires_at": e.expires_at, "correlation_id": e.correlation_id, "tier": e.tier,
        "company_sov_id": e.company_sov_id, "strategy": e.strategy,
        "sequence_id": e.sequence_id, "draft_version": e.draft_version,
        "eligibility": _json(e.eligibility),
        "content_digests": _json(list(e.content_digests)), "terms": _json(terms),
        "approved_by": terms.approved_by if terms else None,
        "approved_at": terms.approved_at if terms else None,
        "window_start": terms.window_start if terms else None,
        "window_end": terms.window_end if terms else None,
        "max_sends_per_hour": terms.max_sends_per_hour if terms else None,
        "max_sends_per_day": terms.max_sends_per_day if terms else None,
        "health_verdict_id": e.health_verdict_id, "audit_verdict_id": e.audit_verdict_id,
        "audience": e.audience,
    }


def _rejection(e: CampaignCommandRejected) -> Row:
    return {
        "event_id": e.event_id, "campaign_id": e.campaign_id, "command_id": e.command_id,
        "command": e.command, "actor": e.actor, "state": e.state, "version": e.version,
        "code": e.code, "reason": e.reason, "correlation_id": e.correlation_id,
        "process_id": e.process_id, "occurred_at": e.occurred_at,
    }


# Fields an event leaves unset (None) keep what an earlier one set (an older event may name
# the company; a transition always carries the whole campaign, so few are ever None).
_KEPT = ("expires_at", "correlation_id", "tier", "company_sov_id", "strategy", "sequence_id")


def fold_campaigns(a: Row, b: Row) -> Row:
    """Two transitions of one campaign in one batch, merged as the SQL upsert would."""
    newer, older = (b, a) if b["version"] > a["version"] else (a, b)
    return newer | {k: older[k] for k in _KEPT if newer[k] is None}


_UPDATED = (
    "state", "version", "draft_version", "eligibility", "content_digests", "terms",
    "approved_by", "approved_at", "window_start", "window_end", "max_sends_per_hour",
    "max_sends_per_day", "health_verdict_id", "audit_verdict_id", "audience",
)
_CAMPAIGN_UPSERT = (
    "ON CONFLICT (campaign_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED) + ", "
    + ", ".join(f"{c} = COALESCE(EXCLUDED.{c}, cur.{c})" for c in _KEPT)
    + ", updated_at = now() WHERE EXCLUDED.version > cur.version"
)

CAMPAIGN_TABLES: tuple[Table, ...] = (
    Table(
        "campaign_events",
        CampaignStateChanged,
        _cols(
            "event_id text, campaign_id text, version int, from_state text, to_state text, "
            "actor text, reason text, expires_at timestamptz, correlation_id text, "
            "process_id text, occurred_at timestamptz, command text, command_id text, "
            "draft_version int, eligibility jsonb, terms jsonb, content_digests jsonb, "
            "health_verdict_id text, audit_verdict_id text, audience int, note text"
        ),
        ("event_id",),
        _campaign_event,
    ),
    Table(
        "campaigns",
        CampaignStateChanged,
        _cols(
            "campaign_id text, state text, version int, expires_at timestamptz, "
            "correlation_id text, tier text, company_sov_id text, strategy text, "
            "sequence_id text, draft_version int, eligibility jsonb, content_digests jsonb, "
            "terms jsonb, approved_by text, approved_at timestamptz, window_start timestamptz, "
            "window_end timestamptz, max_sends_per_hour int, max_sends_per_day int, "
            "health_verdict_id text, audit_verdict_id text, audience int"
        ),
        ("campaign_id",),
        _campaign,
        _CAMPAIGN_UPSERT,
        fold_campaigns,
    ),
    Table(
        "campaign_command_rejections",
        CampaignCommandRejected,
        _cols(
            "event_id text, campaign_id text, command_id text, command text, actor text, "
            "state text, version int, code text, reason text, correlation_id text, "
            "process_id text, occurred_at timestamptz"
        ),
        ("event_id",),
        _rejection,
    ),
)
