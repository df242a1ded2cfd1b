"""Social XPress lead-card batch handoff (seed 003 §3-§5, SPEC §3 "Lead batches")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, Frozen, OpenRecord

EnrichmentStatus = Literal["NONE", "REQUESTED", "ENRICHED", "FAILED"]


class Contact(OpenRecord):
    email: str | None = None
    email_verified: bool = False
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    timezone: str | None = None


class Enrichment(OpenRecord):
    """Contact and business data Social XPress attaches to an ENRICHED card (attachment v1).

    Every field is optional here: a missing golden-rule field is a gate verdict (BLOCKED with a
    reason), not a malformed card.
    """

    company_sov_id: str | None = None
    company_name: str | None = None
    domain: str | None = None
    domain_verified: bool = False
    email_pattern: str | None = None
    lifecycle_state: str | None = None
    contact: Contact | None = None


class LeadCard(OpenRecord):
    """Lead card v1 (seed 003 §4). Unknown fields are kept untouched."""

    lead_id: str = Field(min_length=1)
    source_platform: Literal["tiktok", "threads", "x"]
    username: str
    display_name: str
    audience_pool: Literal["wholesalers", "brokers", "solar", "consultants"]
    persona: Literal["operator", "owner", "marketer", "investor"]
    tribe: Literal["dealmakers", "builders", "growth-operators"]
    execution_label: Literal["USER", "PARTNER", "AFFILIATE", "FEEDBACK"]
    confidence_score: float = Field(ge=0.0, le=1.0)
    enrichment_status: EnrichmentStatus
    contactability_score: float = Field(ge=0.0, le=1.0)
    created_at: AwareDatetime
    enrichment: Enrichment | None = None


class LeadBatchEnvelope(Frozen):
    """The batch envelope. ``records`` stay raw so one bad card cannot sink its batch."""

    model_config = Frozen.model_config | {"extra": "allow"}

    batch_id: str = Field(min_length=1, max_length=200)
    schema_version: str
    created_at: AwareDatetime
    source: str
    target: str
    records: list[Any]
