"""A campaign's audit verdict (SPEC §3 "Audit"; seed 004 step 9).

On `outreach.audit` (key campaign_id) and in `outreach.audit_log`: PASS -> the campaign
completes, FAIL -> it fails with an incident, INCONCLUSIVE -> an escalation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent

AuditVerdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]


class AuditFinding(Frozen):
    rule: str = Field(min_length=1)
    count: int = Field(ge=0)
    sample_ids: tuple[str, ...] = ()


class CampaignAudited(HubEvent):
    verdict_id: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    verdict: AuditVerdict
    findings: tuple[AuditFinding, ...] = ()
    audited_at: AwareDatetime
