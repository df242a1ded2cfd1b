"""Lead cards packed many to a record (agents/intake/packing.py): every card once, in batch
order per partition, each record's cards on its key's partition, within the count and byte
bounds, the other emits untouched, and the same batch packed again gives the same records."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.intake.core import decide, read_batch
from agents.intake.packing import CARD_OVERHEAD_BYTES, packed
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.intake import (
    BatchAudited,
    LeadCardReceived,
    LeadCardRecord,
    LeadCardsReceived,
)
from streams.contracts.records import SourceRef
from streams.kernel.partitioning import partition_for
from streams.sample import lead_batch

NOW = datetime(2026, 1, 11, 18, 25, tzinfo=UTC)
SRC = SourceRef("social-xpress.lead-batch.ready", 0, 7)


def batch_emits(cards: int, companies: int) -> tuple[Emit, ...]:
    raw = codec.dumps(lead_batch("sxp_pack", cards=cards, companies=companies))
    parsed = read_batch(raw, SRC, NOW, STABLE_IDS)
    return decide(None, parsed, SRC, NOW, STABLE_IDS).emits  # type: ignore[arg-type]


def cards_of(emits: tuple[Emit, ...]) -> list[tuple[str, LeadCardReceived]]:
    return [(e.key or "", e.event) for e in emits if isinstance(e.event, LeadCardReceived)]


def records(emits: tuple[Emit, ...]) -> list[tuple[str, LeadCardsReceived]]:
    return [(e.key or "", e.event) for e in emits if isinstance(e.event, LeadCardsReceived)]


@settings(max_examples=40, deadline=None)
@given(cards=st.integers(1, 120), companies=st.integers(1, 60), partitions=st.integers(1, 8),
       per_record=st.integers(1, 50))
def test_every_card_once_in_order_on_its_records_partition(
        cards: int, companies: int, partitions: int, per_record: int) -> None:
    emits = batch_emits(cards, companies)

    def where(key: str) -> int:
        return partition_for(key, partitions)

    out = packed(emits, where, per_record, 1_000_000, STABLE_IDS)
    assert not cards_of(out)  # no card travels alone
    packs = records(out)
    for key, record in packs:
        assert 1 <= len(record.cards) <= per_record
        assert key == (record.cards[0].company_sov_id or record.cards[0].lead_id)
        assert {where(c.company_sov_id or c.lead_id) for c in record.cards} == {where(key)}
    unpacked = [c for _, r in packs for c in r.cards]
    assert sorted(c.event_id for c in unpacked) == sorted(c.event_id for _, c in cards_of(emits))
    for p in range(partitions):  # batch order within a partition
        before = [c.event_id for k, c in cards_of(emits) if where(k) == p]
        assert [c.event_id for c in unpacked if where(c.company_sov_id or c.lead_id) == p] == before
    others = [e for e in emits if not isinstance(e.event, LeadCardReceived)]
    assert [e for e in out if not isinstance(e.event, LeadCardsReceived)] == others


def test_the_same_batch_packs_to_the_same_records() -> None:
    emits = batch_emits(300, 40)
    first = packed(emits, lambda k: partition_for(k, 4), 100, 500_000, STABLE_IDS)
    again = packed(batch_emits(300, 40), lambda k: partition_for(k, 4), 100, 500_000, STABLE_IDS)
    assert [codec.dumps(e.event) for e in first] == [codec.dumps(e.event) for e in again]
    ids = [r.event_id for _, r in records(first)]
    per_partition = [sum(1 for k, _ in cards_of(emits) if partition_for(k, 4) == p)
                     for p in range(4)]
    assert len(ids) == len(set(ids)) == sum(-(-n // 100) for n in per_partition if n)


def test_the_byte_bound_splits_a_partitions_cards_and_a_large_card_goes_alone() -> None:
    emits = batch_emits(40, 1)  # one company: one partition

    def weight(card: LeadCardReceived) -> int:
        return len(codec.dumps(card.card)) + CARD_OVERHEAD_BYTES

    bound = 10 * max(weight(c) for _, c in cards_of(emits))
    packs = [r.cards for _, r in records(packed(emits, lambda _k: 0, 100, bound, STABLE_IDS))]
    assert sum(map(len, packs)) == 40 and len(packs) >= 4
    assert all(sum(map(weight, cards)) <= bound for cards in packs)
    # Greedy: a record ends only where its next card would not fit.
    assert all(sum(map(weight, a)) + weight(b[0]) > bound for a, b in pairwise(packs))
    alone = records(packed(emits, lambda _k: 0, 100, bound // 20, STABLE_IDS))
    assert [len(r.cards) for _, r in alone] == [1] * 40


def test_the_audit_row_and_dead_letters_are_not_packed() -> None:
    emits = batch_emits(5, 5)
    out = packed(emits, lambda _k: 0, 100, 1_000_000, STABLE_IDS)
    assert [type(e.event) for e in out] == [LeadCardsReceived, BatchAudited]


def test_per_record_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="per_record"):
        packed((), lambda _k: 0, 0, 1_000, STABLE_IDS)


def test_the_topic_reads_packed_cards_and_a_single_card_written_before_packing() -> None:
    emits = batch_emits(3, 3)
    [(_, card), *_] = cards_of(emits)
    legacy = codec.loads(codec.dumps(card))
    assert "type" not in legacy  # a single card is written as before packing
    assert LeadCardRecord.model_validate(legacy).root == card
    [(_, pack)] = records(packed(emits, lambda _k: 0, 100, 1_000_000, STABLE_IDS))
    assert LeadCardRecord.model_validate(codec.loads(codec.dumps(pack))).root == pack
