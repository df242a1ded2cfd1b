"""What intake emits: the lead cards received, packed many to a record, and one audit row per
batch handoff.

`outreach.lead-card.received` carries `LeadCardsReceived`: the cards of one batch whose
companies share a partition, in batch order (agents/intake/packing.py says why). A record of a
single `LeadCardReceived` (as written before cards were packed, and with
OUTREACH_ITEMS_PER_RECORD=1) is read too: the topic's value is `LeadCardRecord`, which tells the
two apart by ``type``; a single card is written without it, as before, and read as one card.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel

from streams.contracts.models.base import AwareDatetime, HubEvent, untagged_as

# FORWARDED: ENRICHED, sent on to the gate. AWAITING_ENRICHMENT: REQUESTED, waits for a later
# batch. NOT_EXECUTABLE: NONE / FAILED, recorded with the reason.
CardDisposition = Literal["FORWARDED", "AWAITING_ENRICHMENT", "NOT_EXECUTABLE"]


class LeadCardReceived(HubEvent):
    """One lead card of a batch, with what intake made of it (forwarded to the gate or not)."""

    # Not written: a single card's record is byte for byte what it was before cards were packed,
    # so a worker of that version reads it (OUTREACH_ITEMS_PER_RECORD=1 during an upgrade).
    type: Literal["lead_card"] = Field(default="lead_card", exclude=True)
    batch_id: str
    schema_version: str
    lead_id: str
    company_sov_id: str | None = None
    enrichment_status: str
    disposition: CardDisposition
    reason: str | None = None
    checksum: str = Field(description="sha256 of the card's canonical JSON")
    card: dict[str, Any] = Field(description="the lead card exactly as received")


class LeadCardsReceived(HubEvent):
    """Lead cards of one batch whose companies hash to one partition of the topic, in batch
    order. Keyed by the first card's key, so the record lands on that partition; each card keeps
    its own event id, which is what the gate and the sink deduplicate on."""

    type: Literal["lead_cards"] = "lead_cards"
    batch_id: str
    cards: tuple[LeadCardReceived, ...] = Field(min_length=1)


AnyLeadCardRecord = Annotated[LeadCardsReceived | LeadCardReceived, Field(discriminator="type")]


class LeadCardRecord(RootModel[AnyLeadCardRecord]):
    """The value of `outreach.lead-card.received`: packed cards, or one card (older records)."""

    model_config = ConfigDict(frozen=True)

    _tag_untyped = untagged_as("lead_card")  # written before cards were packed

    @property
    def cards(self) -> tuple[LeadCardReceived, ...]:
        """The record's cards, in order: a pack's, or the one."""
        return self.root.cards if isinstance(self.root, LeadCardsReceived) else (self.root,)


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
