"""Campaign requests packed many to a record: what a batch of gate verdicts asked of the
campaigns of one partition.

Every ALLOW verdict with a personal strategy asks its company's campaign for a draft (or adds
to its audience): one record of `outreach.campaign.commands` each was a Faust hop of its own at
the campaign stage, 6,502 of them for 20,000 leads in the end-to-end bench, and a person
enrolled before its campaign's approval reached the sequencer waits to be looked at again.
The request stage packs a batch's requests (streams/kernel/loop.py `Stage.packs`;
streams/contracts/packing.py says why and how). Operators', the CRM's and the other stages'
commands travel alone, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from streams.contracts.models.campaign import CampaignCommand, CampaignCommands
from streams.contracts.packing import encoded_size, packer

COMMANDS_TOPIC = "campaign_commands"


def pack(members: Sequence[tuple[str, CampaignCommand]]) -> CampaignCommands:
    """One record of commands whose campaigns share a partition."""
    return CampaignCommands(commands=tuple(c for _, c in members))


command_weight = encoded_size
packed_requests = packer(COMMANDS_TOPIC, CampaignCommand, command_weight, pack)
