"""Lead cards packed many to a record: a batch's cards of one partition travel together.

A Faust hop costs per record far more than per item: `bench/faust_floor.py` measures a record
with 100 items (2 sends and a table write each) at 4-7x the items/s of one item per record. A
batch of 1,000 cards over as many companies gives one record per card when cards are keyed by
company; packed per partition it gives one per partition (up to `per_record` cards each), and
the gate decides each card on the partition its company's state is on, as before.

A record holds `per_record` cards at most, and cards of `max_bytes` of JSON at most (a card's
own bytes and a margin for what intake adds), so a batch of large cards still fits the topic's
record limit: a card over it alone travels alone, as every card did before.

`packed` is pure: the shell passes where a key goes (`partition_of`, the hub producer's murmur2
over the topic's partition count). A card whose company is not where its record landed (the
broker's count differs from the one it was packed with) is sent on alone by the gate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import orjson

from streams.contracts.decision import Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.intake import LeadCardReceived, LeadCardsReceived

CARDS_TOPIC = "lead_cards"
# What intake's fields (ids, disposition, checksum) add to a card's own JSON, with room.
CARD_OVERHEAD_BYTES = 1024


def packed(emits: Sequence[Emit], partition_of: Callable[[str], int], per_record: int,
           max_bytes: int, ids: IdFactory) -> tuple[Emit, ...]:
    """`emits` with their lead cards packed: per partition, in order, `per_record` cards and
    `max_bytes` at most to a record, keyed by its first card's key; the other emits as they
    were, after the cards."""
    if per_record < 1:
        raise ValueError("per_record must be at least 1")
    by_partition: dict[int, list[tuple[str, LeadCardReceived]]] = {}
    others: list[Emit] = []
    for emit in emits:
        if emit.topic == CARDS_TOPIC and isinstance(emit.event, LeadCardReceived) and emit.key:
            by_partition.setdefault(partition_of(emit.key), []).append((emit.key, emit.event))
        else:
            others.append(emit)
    cards = [pack(chunk, ids) for _, members in sorted(by_partition.items())
             for chunk in _chunks(members, per_record, max_bytes)]
    return (*cards, *others)


def pack(members: Sequence[tuple[str, LeadCardReceived]], ids: IdFactory) -> Emit:
    """One record of cards that share a partition, keyed by the first card's key. Its id names
    its first and last cards: a batch packed again the same way gives the same ids."""
    first, last = members[0][1], members[-1][1]
    return Emit(CARDS_TOPIC, members[0][0], LeadCardsReceived(
        event_id=ids.event_id("lead-cards", first.event_id, last.event_id, len(members)),
        occurred_at=first.occurred_at,
        correlation_id=first.correlation_id,
        process_id=first.process_id,
        batch_id=first.batch_id,
        cards=tuple(card for _, card in members),
    ))


def _chunks(members: list[tuple[str, LeadCardReceived]], size: int, max_bytes: int,
            ) -> Iterable[list[tuple[str, LeadCardReceived]]]:
    chunk: list[tuple[str, LeadCardReceived]] = []
    taken = 0
    for member in members:
        weight = len(orjson.dumps(member[1].card)) + CARD_OVERHEAD_BYTES
        if chunk and (len(chunk) == size or taken + weight > max_bytes):
            yield chunk
            chunk, taken = [], 0
        chunk.append(member)
        taken += weight
    if chunk:
        yield chunk
