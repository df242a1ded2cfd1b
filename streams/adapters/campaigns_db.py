"""Campaigns as PostgreSQL records them, read for the operator API.

Rows come back as JSON objects (`to_jsonb` of the whole row), so columns that later migrations
add show up without a change here, and timestamps are ISO strings already. Health and audit
records are read only where their tables exist (other stages add them); a missing table is an
empty list, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

# Optional per-campaign tables: (what `show` calls it, table, the column that orders it).
OPTIONAL = (
    ("health", "campaign_health", "evaluated_at"),
    ("audit", "audit_log", "occurred_at"),
)
RECENT = 20


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    state: str | None = None
    company_sov_id: str | None = None
    tier: str | None = None
    limit: int = 50
    offset: int = 0


def _rows(texts: list[asyncpg.Record]) -> list[dict[str, Any]]:
    return [orjson.loads(r[0]) for r in texts]


async def list_campaigns(conn: asyncpg.Connection, f: CampaignFilter) -> list[dict[str, Any]]:
    """Most recently changed first (then by id, so paging is stable)."""
    rows = await conn.fetch(
        "SELECT to_jsonb(c)::text FROM outreach.campaigns c "
        "WHERE ($1::text IS NULL OR c.state = $1) "
        "AND ($2::text IS NULL OR c.company_sov_id = $2) "
        "AND ($3::text IS NULL OR c.tier = $3) "
        "ORDER BY c.updated_at DESC, c.campaign_id LIMIT $4 OFFSET $5",
        f.state, f.company_sov_id, f.tier, f.limit, f.offset,
    )
    return _rows(rows)


async def find_campaign(conn: asyncpg.Connection, campaign_id: str) -> dict[str, Any] | None:
    """The campaign, its transitions (oldest first) and, where recorded, health and audit;
    None when PostgreSQL has neither a row nor a transition of it."""
    row = await conn.fetchval(
        "SELECT to_jsonb(c)::text FROM outreach.campaigns c WHERE c.campaign_id = $1",
        campaign_id)
    history = _rows(await conn.fetch(
        "SELECT to_jsonb(e)::text FROM outreach.campaign_events e WHERE e.campaign_id = $1 "
        "ORDER BY e.version, e.occurred_at", campaign_id))
    if row is None and not history:
        return None
    found: dict[str, Any] = {
        "campaign": None if row is None else orjson.loads(row), "history": history}
    for label, table, order in OPTIONAL:
        found[label] = await _optional(conn, table, order, campaign_id)
    return found


async def _optional(conn: asyncpg.Connection, table: str, order: str, campaign_id: str
                    ) -> list[dict[str, Any]]:
    columns = {r[0] for r in await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'outreach' AND table_name = $1", table)}
    if "campaign_id" not in columns:
        return []
    # Names from OPTIONAL only, never from a request.
    by = f"t.{order} DESC" if order in columns else "1"
    return list(reversed(_rows(await conn.fetch(
        f"SELECT to_jsonb(t)::text FROM outreach.{table} t WHERE t.campaign_id = $1 "
        f"ORDER BY {by} LIMIT {RECENT}", campaign_id))))
