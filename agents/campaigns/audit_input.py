"""What the campaign auditor reads: one campaign's durable record, ids and times only.

Built by the PostgreSQL adapter (`streams/adapters/campaign_record.py`) or by a test; the
auditor (`agents/campaigns/audit.py`) never reaches for anything outside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, Frozen
from streams.contracts.models.campaign import ApprovalTerms

# Engagement that ends a person's sequence whatever its stop_on says (the sequencer's floor),
# and the sequencer's own stop append.
STOP_TYPES = frozenset({"replied", "unsubscribed", "complained", "meeting_booked",
                        "bounced_hard", "sequence_stopped"})


class Enrolled(Frozen):
    """One sequence aggregate of the campaign (a person enrolled in it)."""

    aggregate_id: str = Field(min_length=1)
    contact_key: str = Field(min_length=1)
    status: str = "active"


class SendRow(Frozen):
    """One touch handed to a sender (send_log). ``requested_at`` is when the sequencer decided
    it, ``sent_at`` when the provider took it; a touch still ``scheduled`` has no result."""

    idempotency_key: str = Field(min_length=1)
    aggregate_id: str = Field(min_length=1)
    contact_key: str = Field(min_length=1)
    campaign_id: str | None = None
    touch_index: int
    status: Literal["scheduled", "sent", "failed"]
    content_digest: str | None = None
    requested_at: AwareDatetime | None = None
    sent_at: AwareDatetime | None = None

    @property
    def decided_at(self) -> datetime | None:
        return self.requested_at or self.sent_at


class StopRow(Frozen):
    """A stop of one aggregate (reply, unsubscribe, hard bounce, complaint, meeting booked, or
    the sequencer's stop append)."""

    aggregate_id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    occurred_at: AwareDatetime


class SuppressionRow(Frozen):
    """A person put out of reach (by contact key, the hash of the address), since when."""

    contact_key: str = Field(min_length=1)
    reason: str
    since: AwareDatetime


class AuditLimits(Frozen):
    """The hub's settings the sends had to respect (the sequencer's rules, not the approval)."""

    cooling_off_days: float = Field(default=0, ge=0)
    cap_per_mailbox: int = Field(default=100, ge=1)
    cap_per_domain: int = Field(default=40, ge=1)


class CampaignRecord(Frozen):
    campaign_id: str = Field(min_length=1)
    terms: ApprovalTerms | None  # None: the campaign was never approved (nothing to hold to)
    enrolled: tuple[Enrolled, ...] = ()
    sends: tuple[SendRow, ...] = ()  # every send tagged with this campaign
    # The same persons' sends of other campaigns (cooling-off is across campaigns).
    other_sends: tuple[SendRow, ...] = ()
    stops: tuple[StopRow, ...] = ()
    suppressions: tuple[SuppressionRow, ...] = ()
    limits: AuditLimits = AuditLimits()
