"""Rows of campaign health verdicts (outreach.campaign_health, migration 0004): one per
verdict change, keyed by its deterministic verdict_id (a redelivered verdict is a no-op)."""

from __future__ import annotations

from streams.contracts.models import CampaignHealthEvaluated
from streams.sink.table import Column, Row, Table, _cols


def _health(e: CampaignHealthEvaluated) -> Row:
    return {
        "verdict_id": e.verdict_id,
        "campaign_id": e.campaign_id,
        "sending_domain": e.sending_domain,
        "verdict": e.verdict,
        "reasons": list(e.reasons),
        "window_start": e.window_start,
        "window_end": e.window_end,
        "sends": e.sends,
        "hard_bounces": e.hard_bounces,
        "complaints": e.complaints,
        "opens": e.opens,
        "replies": e.replies,
        "bounce_rate": e.bounce_rate,
        "complaint_rate": e.complaint_rate,
        "engagement_rate": e.engagement_rate,
        "evaluated_at": e.evaluated_at,
        "correlation_id": e.correlation_id,
        "process_id": e.process_id,
    }


HEALTH_TABLES: tuple[Table, ...] = (
    Table(
        "campaign_health",
        CampaignHealthEvaluated,
        (
            *_cols("verdict_id text, campaign_id text, sending_domain text, verdict text"),
            Column("reasons", "text[]"),
            *_cols(
                "window_start timestamptz, window_end timestamptz, sends int, hard_bounces int, "
                "complaints int, opens int, replies int, bounce_rate float8, "
                "complaint_rate float8, engagement_rate float8, evaluated_at timestamptz, "
                "correlation_id text, process_id text"
            ),
        ),
        ("verdict_id",),
        _health,
    ),
)
