"""Health observations packed many to a record: what a batch of the router's records observed,
per partition.

Every send report and counted engagement record became one or two records of
`outreach.campaign.health-input` (its campaign's, its sending domain's), each a Faust hop of
its own at the health stage: 8,740 records for 6,460 sends in the end-to-end bench. The router
reads one report a record, so its stage packs a whole batch's observations
(streams/kernel/loop.py `Stage.packs`; streams/contracts/packing.py says why and how).
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.campaigns.health_input import TOPIC
from streams.contracts.models.campaign_health import (
    CampaignHealthObservations,
    CampaignHealthObserved,
)
from streams.contracts.packing import encoded_size, packer


def pack(members: Sequence[tuple[str, CampaignHealthObserved]]) -> CampaignHealthObservations:
    """One record of observations whose scopes share a partition."""
    return CampaignHealthObservations(observations=tuple(o for _, o in members))


observation_weight = encoded_size
packed_observations = packer(TOPIC, CampaignHealthObserved, observation_weight, pack)
