"""Health observations packed many to a record: what a batch of the router's records observed,
per partition.

Every send report and counted engagement record became one or two records of
`outreach.campaign.health-input` (its campaign's, its sending domain's), each a Faust hop of
its own at the health stage: 8,740 records for 6,460 sends in the end-to-end bench. The router
reads one report a record, so its stage packs a whole batch's observations
(streams/kernel/loop.py `Stage.packs`; streams/contracts/packing.py says why and how).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from agents.campaigns.health_input import TOPIC
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.models.campaign_health import (
    CampaignHealthObservations,
    CampaignHealthObserved,
)
from streams.contracts.packing import packed_emits


def observation_weight(observation: CampaignHealthObserved) -> int:
    return len(codec.dumps(observation))


def packed_observations(emits: Iterable[Emit], partition_of: Callable[[str], int],
                        per_record: int, max_bytes: int) -> tuple[list[Emit], list[Emit]]:
    """The observations among `emits` packed, and the other emits as they were."""
    return packed_emits(emits, TOPIC, CampaignHealthObserved, partition_of,
                        per_record, max_bytes, observation_weight, pack)


def pack(members: Sequence[tuple[str, CampaignHealthObserved]]) -> CampaignHealthObservations:
    """One record of observations whose scopes share a partition."""
    return CampaignHealthObservations(observations=tuple(o for _, o in members))
