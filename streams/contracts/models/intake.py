"""What intake emits: one record per lead card received, and one audit row per batch handoff."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, HubEvent

# FORWARDED: ENRICHED, sent on to the gate. AWAITING_ENRICHMENT: REQUESTED, waits for a later
# batch. NOT_EXECUTABLE: NONE / FAILED, recorded with the reason.
CardDisposition = Literal["FORWARDED", "AWAITING_ENRICHMENT", "NOT_EXECUTABLE"]


class LeadCardReceived(HubEvent):
    batch_id: str
    schema_version: str
    lead_id: str
    company_sov_id: str | None = None
    enrichment_status: str
    disposition: CardDisposition
    reason: str | None = None
    checksum: str = Field(description="sha256 of the card's canonical JSON")
    card: dict[str, Any] = Field(description="the lead card exactly as received")


class BatchAudited(HubEvent):
    """The handoff audit row of seed 003 §8: batch_id, schema_version, target, timestamp,
    checksum, success / failure."""

    batch_id: str
    schema_version: str | None = None
    target: str | None = None
    received_at: AwareDatetime
    checksum: str
    status: Literal["success", "failure"]
    reason: str | None = None
    cards_total: int = 0
    cards_forwarded: int = 0
    cards_not_forwarded: int = 0
    cards_rejected: int = 0
