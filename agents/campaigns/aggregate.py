"""The campaign aggregate's state and the policy the launch applies (both pure values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, Frozen
from streams.contracts.models.campaign import ApprovalTerms, CampaignState, EligibilityVerdict
from streams.contracts.models.gate import Strategy, Tier

# How many decided command ids a campaign remembers: a redelivered command is a no-op. Commands
# of one campaign arrive in order on one partition, so a redelivery is always a recent one.
REMEMBERED_COMMANDS = 64
AUTO_APPROVER = "policy:auto-approve-tiers"


class CampaignAggregate(Frozen):
    campaign_id: str
    state: CampaignState | None = None  # None: no campaign yet
    version: int = 0
    company_sov_id: str | None = None
    tier: Tier | None = None
    strategy: Strategy | None = None
    sequence_id: str | None = None
    correlation_id: str | None = None
    process_id: str | None = None
    draft_version: int = 0
    expires_at: AwareDatetime | None = None
    eligibility: EligibilityVerdict | None = None
    content_digests: tuple[str, ...] = ()
    max_audience: int | None = None
    audience: int = 0
    approval: ApprovalTerms | None = None
    # Set while a health verdict holds the campaign paused: only an approval naming it lifts it.
    health_verdict_id: str | None = None
    audit_verdict_id: str | None = None
    decided_commands: tuple[str, ...] = Field(default=())


@dataclass(frozen=True, slots=True)
class CampaignPolicy:
    """Configuration (streams/kernel/settings.py): the draft TTL, which tiers the approval
    policy approves at once (none by default) and the terms an approval gets by default."""

    draft_ttl: timedelta = timedelta(days=7)
    auto_approve_tiers: frozenset[str] = frozenset()
    max_sends_per_hour: int = 50
    max_sends_per_day: int = 200


@dataclass(frozen=True, slots=True)
class EligibilityFacts:
    """What the shell knows beyond the command (seed 004 step 3). ``domain_pause``: the id of a
    PAUSE health verdict in force for the sending domain; ``suppressed``: why the company may not
    be contacted, if the hub knows (None: nothing known)."""

    domain_pause: str | None = None
    suppressed: str | None = None


def window_open(terms: ApprovalTerms | None, now: datetime) -> bool:
    """Inside the approved activation window (no approval: never)."""
    if terms is None:
        return False
    if terms.window_start is not None and now < terms.window_start:
        return False
    return terms.window_end is None or now < terms.window_end
