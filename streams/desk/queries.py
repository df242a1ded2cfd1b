"""What the desk's pages show, read from PostgreSQL (and, for the pipeline, the metrics
registry). Returns plain dicts for the templates; no personal data leaves here unmasked except
the sample person's merge fields, which the preview renders exactly as the sender would."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from streams.adapters.campaigns_db import find_campaign
from streams.kernel import metrics

PAGE_SIZE = 50
SAMPLE = 5
ENDED = frozenset({"completed", "cancelled", "rejected", "expired", "failed"})
RUNNING = frozenset({"active", "paused", "scheduled"})


@dataclass(frozen=True, slots=True)
class ListQuery:
    state: str | None = None
    company: str | None = None
    tier: str | None = None
    page: int = 1


async def campaigns_page(conn: asyncpg.Connection, q: ListQuery
                         ) -> tuple[list[dict[str, Any]], bool]:
    """One page, drafts waiting first (soonest expiry first), then the most recently changed;
    and whether another page follows."""
    rows = await conn.fetch(
        "SELECT campaign_id, state, company_sov_id, tier, audience, "
        "eligibility->>'verdict' AS eligibility, expires_at, updated_at "
        "FROM outreach.campaigns c "
        "WHERE ($1::text IS NULL OR c.state = $1) "
        "AND ($2::text IS NULL OR c.company_sov_id = $2) "
        "AND ($3::text IS NULL OR c.tier = $3) "
        "ORDER BY (c.state = 'draft') DESC, "
        "CASE WHEN c.state = 'draft' THEN c.expires_at END ASC NULLS LAST, "
        "c.updated_at DESC, c.campaign_id LIMIT $4 OFFSET $5",
        q.state, q.company, q.tier, PAGE_SIZE + 1, (q.page - 1) * PAGE_SIZE)
    found = [dict(r) for r in rows]
    names = await company_names(conn, (r["company_sov_id"] for r in found[:PAGE_SIZE]))
    for r in found:
        r["company_name"] = names.get(r["company_sov_id"])
    return found[:PAGE_SIZE], len(found) > PAGE_SIZE


async def company_names(conn: asyncpg.Connection, companies: Iterable[str | None]
                        ) -> dict[str, str]:
    """Each company's name as its latest lead card spells it, where one does: the hub keeps no
    other record of a company's name, and a reviewer knows companies by name, not by id."""
    ids = sorted({c for c in companies if c})
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT DISTINCT ON (company_sov_id) company_sov_id, "
        "card->'enrichment'->>'company_name' AS name FROM outreach.lead_cards "
        "WHERE company_sov_id = ANY($1::text[]) "
        "AND coalesce(card->'enrichment'->>'company_name', '') <> '' "
        "ORDER BY company_sov_id, received_at DESC", ids)
    return {r["company_sov_id"]: r["name"] for r in rows}


def mask_email(email: str | None) -> str:
    """`jane.doe@example.com` -> `j***@example.com`: enough to tell people apart by domain."""
    if not email or "@" not in email:
        return "-"
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"


async def sample_people(conn: asyncpg.Connection, company: str | None, strategy: str | None,
                        limit: int = SAMPLE) -> list[dict[str, Any]]:
    """A few people the campaign would contact: the gate's ALLOW verdicts of its company and
    strategy, with the contact of their stored lead card (latest verdict per lead)."""
    if company is None or strategy is None:
        return []
    rows = await conn.fetch(
        "SELECT v.event_id, v.lead_id, c.card::text AS card FROM ("
        "  SELECT DISTINCT ON (lead_id) event_id, lead_id, batch_id, verdict, strategy "
        "  FROM outreach.gate_verdicts WHERE company_sov_id = $1 "
        "  ORDER BY lead_id, occurred_at DESC) v "
        "JOIN outreach.lead_cards c ON c.lead_id = v.lead_id AND c.batch_id = v.batch_id "
        "WHERE v.verdict = 'ALLOW' AND v.strategy = $2 ORDER BY v.lead_id LIMIT $3",
        company, strategy, limit)
    people = []
    for r in rows:
        enrichment = (orjson.loads(r["card"]) or {}).get("enrichment") or {}
        contact = enrichment.get("contact") or {}
        people.append({
            "enrollment_id": r["event_id"], "email": contact.get("email"),
            "masked_email": mask_email(contact.get("email")),
            "first_name": contact.get("first_name"), "last_name": contact.get("last_name"),
            "title": contact.get("title"), "company_name": enrichment.get("company_name")})
    return people


async def campaign_view(conn: asyncpg.Connection, campaign_id: str) -> dict[str, Any] | None:
    found = await find_campaign(conn, campaign_id)
    if found is None or found["campaign"] is None:
        return None
    c = found["campaign"]
    sends = {r[0]: r[1] for r in await conn.fetch(
        "SELECT status, count(*) FROM outreach.send_log WHERE campaign_id = $1 GROUP BY 1",
        campaign_id)}
    by_day = [dict(r) for r in await conn.fetch(
        "SELECT date_trunc('day', coalesce(sent_at, scheduled_at, updated_at)) AS day, "
        "count(*) FILTER (WHERE status = 'sent') AS sent, "
        "count(*) FILTER (WHERE status = 'failed') AS failed, "
        "count(*) FILTER (WHERE status = 'scheduled') AS scheduled "
        "FROM outreach.send_log WHERE campaign_id = $1 GROUP BY 1 ORDER BY 1 DESC LIMIT 14",
        campaign_id)]
    # A hard bounce is its own figure: the health threshold counts only those.
    engagement = {r[0]: r[1] for r in await conn.fetch(
        "SELECT CASE WHEN type = 'bounced' AND bounce_kind = 'hard' THEN 'hard_bounced' "
        "ELSE type END, count(*) FROM outreach.engagement_events WHERE campaign_id = $1 "
        "GROUP BY 1", campaign_id)}
    people = (await sample_people(conn, c.get("company_sov_id"), c.get("strategy"))
              if c.get("state") == "draft" else [])
    audits = [a for a in found.get("audit", []) if a.get("verdict")]
    names = await company_names(conn, [c.get("company_sov_id")])
    return {"campaign": c, "company_name": names.get(c.get("company_sov_id") or ""),
            "history": found["history"], "health": found.get("health", []),
            "audit": audits[-1] if audits else None, "sends": sends,
            "sends_by_day": list(reversed(by_day)), "engagement": engagement,
            "people": people}


def pipeline() -> dict[str, Any]:
    """Flow per stage, consumer lag per topic, dead letters by reason: this worker's counters,
    as /metrics exports them."""
    flow: dict[str, float] = {}
    lag: dict[str, float] = {}
    dead: dict[tuple[str, str], float] = {}
    emitted: dict[str, float] = {}
    for family in metrics.REGISTRY.collect():
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "outreach_stage_records_total":
                flow[labels["stage"]] = flow.get(labels["stage"], 0) + sample.value
            elif sample.name == "outreach_consumer_lag":
                lag[labels["topic"]] = lag.get(labels["topic"], 0) + sample.value
            elif sample.name == "outreach_dead_letters_total":
                key = (labels["stage"], labels["code"])
                dead[key] = dead.get(key, 0) + sample.value
            elif sample.name == "outreach_events_emitted_total":
                emitted[labels["topic"]] = emitted.get(labels["topic"], 0) + sample.value
    return {"flow": sorted(flow.items()), "lag": sorted(lag.items()),
            "dead": sorted((s, c, n) for (s, c), n in dead.items()),
            "emitted": sorted(emitted.items())}


async def caught_up(conn: asyncpg.Connection, campaign_id: str, version: int) -> bool:
    """PostgreSQL shows the campaign at `version` or later (the sink writes in batches)."""
    found = await conn.fetchval(
        "SELECT version FROM outreach.campaigns WHERE campaign_id = $1", campaign_id)
    return found is not None and found >= version
