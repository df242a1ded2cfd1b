"""Campaign commands (imperative) and state transitions (past tense). SPEC §3 "Campaigns"."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent
from streams.contracts.models.gate import Tier

CampaignState = Literal[
    "requested",
    "draft",
    "scheduled",
    "active",
    "paused",
    "completed",
    "cancelled",
    "rejected",
    "expired",
    "failed",
]
CommandName = Literal[
    "request", "approve", "reject", "ask", "pause", "resume", "cancel", "complete", "fail"
]


class ApprovalTerms(Frozen):
    """What an approval binds: when the campaign may send, how fast, and which content."""

    window_start: AwareDatetime
    window_end: AwareDatetime | None = None
    max_sends_per_hour: int | None = Field(default=None, ge=1)
    max_sends_per_day: int | None = Field(default=None, ge=1)
    content_digests: tuple[str, ...] = ()
    overrides_health_verdict_id: str | None = None
    approved_by: str | None = None
    approved_at: AwareDatetime | None = None


class CampaignCommand(Frozen):
    """An operator's or CRM's command. A command proposes; the hub decides (seed 004)."""

    command_id: str = Field(min_length=1)
    command: CommandName
    campaign_id: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    issued_at: AwareDatetime
    company_sov_id: str | None = None
    tier: Tier | None = None
    reason: str | None = None
    correlation_id: str | None = None
    approval: ApprovalTerms | None = None
    audit_verdict_id: str | None = None


class CampaignStateChanged(HubEvent):
    campaign_id: str
    version: int = Field(ge=1)
    from_state: CampaignState | None
    to_state: CampaignState
    actor: str
    reason: str | None = None
    expires_at: AwareDatetime | None = None
    approval: ApprovalTerms | None = None  # the terms in force after this transition
