"""Lead cards packed many to a record: a batch's cards of one partition travel together.

A batch of 1,000 cards over as many companies gave one record of `outreach.lead-card.received`
per card, each a Faust hop of its own at the gate and at the sink. Packed per partition
(streams/contracts/packing.py says why and how) it gives one per partition and 100 cards, and
the gate decides each card on the partition its company's state is on, as before.

A record holds `per_record` cards at most, and `max_bytes` of JSON at most (a card's own bytes
and a margin for what intake adds), so a batch of large cards still fits the topic's record
limit: a card over it travels alone, as every card did before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import orjson

from streams.contracts.decision import Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.intake import LeadCardReceived, LeadCardsReceived
from streams.contracts.packing import envelope, packed_emits

CARDS_TOPIC = "lead_cards"
# What intake's fields (ids, disposition, checksum) add to a card's own JSON, with room.
CARD_OVERHEAD_BYTES = 1024


def card_weight(card: LeadCardReceived) -> int:
    return len(orjson.dumps(card.card)) + CARD_OVERHEAD_BYTES


def packed(emits: Sequence[Emit], partition_of: Callable[[str], int], per_record: int,
           max_bytes: int, ids: IdFactory) -> tuple[Emit, ...]:
    """`emits` with their lead cards packed (streams/contracts/packing.py), each record keyed
    by its first card's key; the other emits as they were, after the cards."""
    cards, others = packed_emits(emits, CARDS_TOPIC, LeadCardReceived, partition_of,
                                 per_record, max_bytes, card_weight, lambda m: pack(m, ids))
    return (*cards, *others)


def pack(members: Sequence[tuple[str, LeadCardReceived]], ids: IdFactory) -> LeadCardsReceived:
    """One record of cards that share a partition."""
    cards = tuple(card for _, card in members)
    return LeadCardsReceived(**envelope("lead-cards", cards, ids),
                             batch_id=cards[0].batch_id, cards=cards)
