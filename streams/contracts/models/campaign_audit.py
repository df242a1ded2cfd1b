"""The audit of a campaign once its sequences have ended (or on demand): SPEC §3 "Campaigns".

`outreach.audit` carries two records, the batch handoff audit of intake and this verdict;
`AuditEntry` tells them apart by the fields only a campaign verdict has.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, RootModel, Tag

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent
from streams.contracts.models.intake import BatchAudited

AuditVerdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]


class AuditFinding(Frozen):
    """One broken (or uncheckable) rule: how often, and a few ids to look at. Ids only: an
    idempotency key, an aggregate id, a contact key (a hash), never an address."""

    rule: str = Field(min_length=1)
    count: int = Field(ge=1)
    sample_ids: tuple[str, ...] = ()


class CampaignAudited(HubEvent):
    verdict_id: str = Field(min_length=1)  # = event_id: what a fail/complete command cites
    campaign_id: str = Field(min_length=1)
    verdict: AuditVerdict
    findings: tuple[AuditFinding, ...] = ()
    audited_at: AwareDatetime


def _kind(data: Any) -> str:
    if isinstance(data, dict):
        return "campaign" if "campaign_id" in data and "verdict" in data else "batch"
    return "campaign" if isinstance(data, CampaignAudited) else "batch"


AnyAudit = Annotated[
    Annotated[BatchAudited, Tag("batch")] | Annotated[CampaignAudited, Tag("campaign")],
    Discriminator(_kind),
]


class AuditEntry(RootModel[AnyAudit]):
    """The value of `outreach.audit` (key batch_id or campaign_id)."""

    model_config = ConfigDict(frozen=True)
