"""Placements packed many to a record: what a batch of the engagement stage's records sent to
`outreach.engagement.placement`, per partition.

Every send report became one placement ("message M is aggregate A's send"), a Faust hop of
its own at the placement stage: about 5,000 records for 20,000 leads in the end-to-end bench.
The engagement stage reads one report a record, so it packs a whole batch's placements
(streams/kernel/loop.py `Stage.packs`; streams/contracts/packing.py says why and how).
"""

from __future__ import annotations

from collections.abc import Sequence

from streams.contracts.models.engagement import MessagePlacement, MessagePlacements
from streams.contracts.packing import encoded_size, packer

PLACEMENT_TOPIC = "engagement_placement"


def placement_id(placement: MessagePlacement) -> str:
    """What names one placement among a pack's (a dead letter's item): its message, and the
    send or the provider event it places (none: the timer's nudge)."""
    event = placement.event
    what = (f"{event.provider}:{event.provider_event_id}" if event is not None
            else placement.aggregate_id or "expiry")
    return f"{placement.provider_message_id}|{what}"


def pack(members: Sequence[tuple[str, MessagePlacement]]) -> MessagePlacements:
    """One record of placements whose message ids share a partition."""
    return MessagePlacements(placements=tuple(p for _, p in members))


placement_weight = encoded_size
packed_placements = packer(PLACEMENT_TOPIC, MessagePlacement, placement_weight, pack)
