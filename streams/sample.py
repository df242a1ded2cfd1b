"""Realistic sample data: lead batches and BIT scores (the demo, the e2e tests and bench/)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

FIRST = [
    "jane",
    "omar",
    "li",
    "sofia",
    "raj",
    "maria",
    "tom",
    "aiko",
    "lena",
    "kwame",
    "ana",
    "ben",
]
LAST = ["doe", "haddad", "chen", "rossi", "patel", "garcia", "berg", "sato", "novak", "mensah"]
TRADES = ["roofing", "solar", "brokerage", "wholesale", "consulting", "hvac", "plumbing"]
ZONES = ["America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles"]
# Scores across every band: SUSPECT, WARM, HOT, BURNING (None: the score never comes).
DEFAULT_SCORES: tuple[float | None, ...] = (
    12,
    24,
    25,
    41,
    49,
    50,
    63,
    74,
    75,
    88,
    97,
    None,
)


def company(i: int) -> dict[str, str]:
    trade = TRADES[i % len(TRADES)]
    return {
        "company_sov_id": f"cmp_{i:04d}",
        "company_name": f"Company {i} {trade.title()}",
        "domain": f"company{i}-{trade}.example",
    }


def lead_card(
    rng: random.Random, n: int, comp: dict[str, str], created: datetime
) -> dict[str, Any]:
    status = rng.choices(["ENRICHED", "REQUESTED", "NONE", "FAILED"], [75, 10, 8, 7])[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    card: dict[str, Any] = {
        "lead_id": f"lead-{n:06d}",
        "source_platform": rng.choice(["tiktok", "threads", "x"]),
        "username": f"{first}{last}{n}",
        "display_name": f"{first.title()} {last.title()}",
        "audience_pool": rng.choice(["wholesalers", "brokers", "solar", "consultants"]),
        "persona": rng.choice(["operator", "owner", "marketer", "investor"]),
        "tribe": rng.choice(["dealmakers", "builders", "growth-operators"]),
        "execution_label": rng.choice(["USER", "PARTNER", "AFFILIATE", "FEEDBACK"]),
        "confidence_score": round(rng.uniform(0.3, 1.0), 2),
        "enrichment_status": status,
        "contactability_score": round(rng.uniform(0.1, 1.0), 2),
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "sxp_campaign_hint": "kept-verbatim",  # unknown fields stay untouched
    }
    if status != "ENRICHED":
        return card
    flaw = rng.choices(
        ["none", "email_unverified", "no_pattern", "identified", "domain"], [87, 5, 3, 3, 2]
    )[0]
    card["enrichment"] = {
        **comp,
        "domain_verified": flaw != "domain",
        "email_pattern": None if flaw == "no_pattern" else "{first}.{last}@" + comp["domain"],
        "lifecycle_state": "IDENTIFIED" if flaw == "identified" else "TARGETABLE",
        "contact": {
            "email": f"{first}.{last}{n}@{comp['domain']}",
            "email_verified": flaw != "email_unverified",
            "first_name": first.title(),
            "last_name": last.title(),
            "title": rng.choice(["Owner", "CEO", "Ops Lead"]),
            "timezone": rng.choice(ZONES),
        },
    }
    return card


def lead_batch(
    batch_id: str, cards: int, companies: int, seed: int = 7, created: datetime | None = None
) -> dict[str, Any]:
    rng = random.Random(seed)
    created = created or datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    comps = [company(i) for i in range(companies)]
    records = [
        lead_card(rng, n, comps[n % companies], created - timedelta(minutes=n))
        for n in range(cards)
    ]
    return {
        "batch_id": batch_id,
        "schema_version": "v1",
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "source": "social-xpress-engine",
        "target": "nextier-execution",
        "records": records,
    }


def bit_score(company_sov_id: str, score: float, evaluated: datetime) -> dict[str, Any]:
    tier = "PLATINUM" if score >= 75 else "SILVER" if score >= 50 else "BRONZE"
    return {
        "company_sov_id": company_sov_id,
        "outreach_id": f"out-{company_sov_id}",
        "bit_score": score,
        "bit_tier": tier,
        "correlation_id": f"bit-{company_sov_id}-1",
        "lifecycle_state": "TARGETABLE",
        "evaluated_at": evaluated.isoformat().replace("+00:00", "Z"),
    }


def bit_scores(
    companies: int,
    scores: tuple[float | None, ...] = DEFAULT_SCORES,
    evaluated: datetime | None = None,
) -> list[dict[str, Any]]:
    evaluated = evaluated or datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    out = []
    for i in range(companies):
        score = scores[i % len(scores)]
        if score is not None:
            out.append(bit_score(company(i)["company_sov_id"], score, evaluated))
    return out
