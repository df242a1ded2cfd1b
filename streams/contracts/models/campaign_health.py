"""A campaign's health verdict (SPEC §3 "Health is authority"; seed 004 step 8).

Produced by the health stage onto `outreach.campaign.health` (key campaign_id); the campaign
stage turns a `PAUSE` into a health pause that only a new approval naming ``verdict_id`` lifts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, HubEvent

HealthVerdict = Literal["HEALTHY", "PAUSE", "REVIEW"]


class CampaignHealthEvaluated(HubEvent):
    verdict_id: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    sending_domain: str | None = None
    window_start: AwareDatetime
    window_end: AwareDatetime
    sends: int = Field(ge=0)
    hard_bounces: int = Field(ge=0)
    complaints: int = Field(ge=0)
    opens: int = Field(ge=0)
    replies: int = Field(ge=0)
    bounce_rate: float = Field(ge=0)
    complaint_rate: float = Field(ge=0)
    engagement_rate: float = Field(ge=0)
    verdict: HealthVerdict
    reasons: tuple[str, ...] = ()
    evaluated_at: AwareDatetime
