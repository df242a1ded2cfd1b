"""Campaign states and commands for the core's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agents.campaigns.aggregate import CampaignAggregate, CampaignPolicy, EligibilityFacts
from agents.campaigns.identity import campaign_id_for
from agents.campaigns.launch import decide
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.campaign import (
    ApprovalTerms,
    CampaignCommand,
    CampaignScope,
    CampaignState,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
COMPANY = "cmp_0001"
CID = campaign_id_for(COMPANY, "PERSONALIZED_EMAIL")
POLICY = CampaignPolicy()
NO_FACTS = EligibilityFacts()
DIGESTS = ("sha256:" + "a" * 64, "sha256:" + "b" * 64)
_n = iter(range(10**9))


def command(name: str, **fields: Any) -> CampaignCommand:
    base: dict[str, Any] = {
        "command_id": f"c-{next(_n)}", "command": name, "campaign_id": CID,
        "actor": "operator:ann", "issued_at": NOW,
    }
    if name == "request":
        base |= {"actor": "system:gate", "company_sov_id": COMPANY, "tier": "HOT",
                 "strategy": "PERSONALIZED_EMAIL", "sequence_id": "hot-v1", "audience": 1,
                 "correlation_id": "corr-1", "approval": ApprovalTerms(content_digests=DIGESTS)}
    if name == "modify_scope":
        base["scope"] = CampaignScope(max_audience=10)
    if name == "pause_for_health":
        base |= {"actor": "system:health", "health_verdict_id": "hv-1"}
    if name in ("complete", "fail"):
        base |= {"actor": "system:audit", "audit_verdict_id": "av-1"}
    if name in ("expire", "activate"):
        base["actor"] = "system:ttl"
    return CampaignCommand(**(base | fields))


def run(state: CampaignAggregate, cmd: CampaignCommand, now: datetime = NOW,
        policy: CampaignPolicy = POLICY,
        facts: EligibilityFacts = NO_FACTS) -> Decision[CampaignAggregate]:
    return decide(state, cmd, now, policy, facts, STABLE_IDS)


def state_in(name: CampaignState | None) -> CampaignAggregate:
    """A campaign in `name`, reached through the core itself (so every field is as it would be),
    with a draft whose TTL has passed and an approval whose window is open at NOW."""
    s = CampaignAggregate(campaign_id=CID)
    if name is None:
        return s
    before = NOW - timedelta(days=8)
    s = run(s, command("request", issued_at=before), now=before).state
    if name == "requested":
        return s.model_copy(update={"state": "requested"})
    if name == "draft":
        return s
    if name in ("rejected", "expired", "cancelled"):
        verb = {"rejected": "reject", "expired": "expire", "cancelled": "cancel"}[name]
        return run(s, command(verb)).state
    start = {"window_start": NOW + timedelta(hours=1)} if name == "scheduled" else {}
    s = run(s, command("approve", approval=ApprovalTerms(**start)), now=before).state
    if name == "scheduled":
        # The window opens in the past of NOW: `activate` at NOW is legal.
        return s.model_copy(update={"state": "scheduled", "approval": s.approval.model_copy(
            update={"window_start": NOW - timedelta(hours=1)})})  # type: ignore[union-attr]
    if name == "paused":
        return run(s, command("pause")).state
    if name in ("completed", "failed"):
        return run(s, command("complete" if name == "completed" else "fail")).state
    assert name == "active"
    return s
