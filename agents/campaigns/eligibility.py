"""Seed 004 steps 2 and 3 for a campaign request: validation, then a deterministic MAY /
MAY_NOT with its reasons.

A system campaign exists because the gate allowed someone: the gate verdict is the evidence,
and the golden rule is inside it (an ALLOW is never given with a broken golden rule). A request
from anyone else (CRM, an operator) names a company and tier; it is eligible only through the
gate too, and then the campaign exists already, so such a request for a company the gate never
allowed is MAY_NOT: the hub does not contact a company on a proposal's word (PART2-001).
"""

from __future__ import annotations

from agents.campaigns.aggregate import EligibilityFacts
from agents.campaigns.identity import campaign_id_for
from streams.contracts.models.campaign import CampaignCommand, EligibilityVerdict

PERSONAL = ("PERSONALIZED_EMAIL", "PHONE_AND_EMAIL")


def creation_problems(c: CampaignCommand) -> list[str]:
    """Validation: what makes a request unusable whatever the facts (OUT-005)."""
    problems = []
    if not c.company_sov_id:
        problems.append("no company_sov_id")
    if c.tier is None:
        problems.append("no tier")
    if c.strategy not in PERSONAL:
        problems.append(f"strategy {c.strategy} has no sequence (only {', '.join(PERSONAL)})")
    elif c.company_sov_id and c.campaign_id != campaign_id_for(c.company_sov_id, c.strategy):
        problems.append("campaign_id is not the company and strategy's campaign")
    return problems


def eligibility(c: CampaignCommand, facts: EligibilityFacts) -> EligibilityVerdict:
    may_not = []
    if c.actor == "system:gate":
        may = ["gate:ALLOW", "golden_rule:met"]
    else:
        may_not.append("gate:no_allow_verdict")
        may = []
    if facts.suppressed:
        may_not.append(f"suppressed:{facts.suppressed}")
    if facts.domain_pause:
        may_not.append(f"sending_domain_health:PAUSE:{facts.domain_pause}")
    if may_not:
        return EligibilityVerdict(verdict="MAY_NOT", reasons=tuple(may_not))
    return EligibilityVerdict(verdict="MAY", reasons=tuple(may))
