"""Campaign health (SPEC §3 "Campaigns": health is authority).

`CampaignHealthObserved` is the health stage's own input: one send or engagement record
re-keyed by the scope it counts for (a campaign, or a sending domain), so one partition holds
all of a scope's evidence. `CampaignHealthEvaluated` is a verdict, emitted when a campaign's
verdict changes; the campaign core turns a PAUSE into a paused campaign.

Observations travel packed (`CampaignHealthObservations`): what a batch of the router's records
observed for one partition (streams/contracts/packing.py says why). The topic's value is
`CampaignHealthInput`, which reads a pack and a single observation (written as before packing,
with OUTREACH_ITEMS_PER_RECORD=1, without a ``type``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent, untagged_as

HealthVerdict = Literal["HEALTHY", "PAUSE", "REVIEW"]
ObservationKind = Literal["send", "hard_bounce", "complaint", "open", "reply"]


class CampaignHealthObserved(Frozen):
    """One piece of evidence for one scope: `campaign:<campaign_id>` or `domain:<domain>`."""

    # Not written: a single observation's record is what it was before packing.
    type: Literal["campaign_health_observed"] = Field(default="campaign_health_observed",
                                                      exclude=True)
    scope: str = Field(min_length=1)
    # The record it came from, counted once: `send:<idempotency_key>` or `event:<event_id>`.
    observation_id: str = Field(min_length=1)
    kind: ObservationKind
    campaign_id: str | None = None
    sending_domain: str = Field(min_length=1)
    occurred_at: AwareDatetime
    correlation_id: str = Field(min_length=1)


class CampaignHealthObservations(Frozen):
    """Observations whose scopes hash to one partition, in the order observed. Keyed by the
    first one's scope; each keeps its own observation id, which is what the fold counts once."""

    type: Literal["campaign_health_observations"] = "campaign_health_observations"
    observations: tuple[CampaignHealthObserved, ...] = Field(min_length=1)


AnyCampaignHealthInput = Annotated[CampaignHealthObservations | CampaignHealthObserved,
                                   Field(discriminator="type")]


class CampaignHealthInput(RootModel[AnyCampaignHealthInput]):
    """The value of `outreach.campaign.health-input`: packed observations, or one."""

    model_config = ConfigDict(frozen=True)

    _tag_untyped = untagged_as("campaign_health_observed")  # written before packing

    @property
    def observations(self) -> tuple[CampaignHealthObserved, ...]:
        """The record's observations, in order: a pack's, or the one."""
        root = self.root
        return root.observations if isinstance(root, CampaignHealthObservations) else (root,)


class CampaignHealthEvaluated(HubEvent):
    """A campaign's health verdict over the window, emitted when it changes."""

    verdict_id: str = Field(min_length=1)
    campaign_id: str = Field(min_length=1)
    sending_domain: str = Field(min_length=1)
    # Whose rates these are: the campaign's own, or its sending domain's (told to every
    # campaign that sent from it); only a domain verdict says anything about new drafts.
    scope: Literal["campaign", "domain"] = "campaign"
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
