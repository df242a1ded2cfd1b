"""Gate verdicts packed many to a record (agents/gate/packing.py): every verdict once, in the
order reached per partition, each record on one partition and keyed by its first verdict's
company, within the count and byte bounds; the other emits untouched; the same decisions pack to
the same records; and the topic's value reads a pack and a verdict written before packing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.gate.packing import packed_verdicts, verdict_weight
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.gate import GateVerdictRecord, LeadGated, LeadsGated
from streams.contracts.packing import packs
from streams.kernel.partitioning import partition_for
from tests.unit.gate.test_gate_fold import SCENARIO, fold


def many_companies(companies: int) -> list[Emit]:
    """The scenario's emits (verdicts, errors) as if each of `companies` had gone through it."""
    _, emits = fold(SCENARIO)
    out: list[Emit] = []
    for n in range(companies):
        for e in emits:
            if isinstance(e.event, LeadGated):
                company = f"cmp_{n}"
                out.append(Emit(e.topic, company, e.event.model_copy(update={
                    "company_sov_id": company, "event_id": f"{e.event.event_id}-{n}"})))
            else:
                out.append(e)
    return out


def verdicts_of(emits: list[Emit]) -> list[tuple[str, LeadGated]]:
    return [(e.key or "", e.event) for e in emits if isinstance(e.event, LeadGated)]


@settings(max_examples=30, deadline=None)
@given(companies=st.integers(1, 12), partitions=st.integers(1, 6), per_record=st.integers(1, 9))
def test_every_verdict_once_in_order_on_its_records_partition(
        companies: int, partitions: int, per_record: int) -> None:
    emits = many_companies(companies)

    def where(key: str) -> int:
        return partition_for(key, partitions)

    records, others = packed_verdicts(emits, where, per_record, 1_000_000, STABLE_IDS)
    assert others == [e for e in emits if not isinstance(e.event, LeadGated)]
    unpacked: list[tuple[str, LeadGated]] = []
    for record in records:
        assert isinstance(record.event, LeadsGated) and record.topic == "gate_verdicts"
        keys = [v.company_sov_id or "" for v in record.event.verdicts]
        assert 1 <= len(keys) <= per_record and record.key == keys[0]
        assert {where(k) for k in keys} == {where(record.key)}
        unpacked += [(v.company_sov_id or "", v) for v in record.event.verdicts]
    assert sorted(v.event_id for _, v in unpacked) == sorted(
        v.event_id for _, v in verdicts_of(emits))
    for p in range(partitions):
        assert [v for k, v in unpacked if where(k) == p] == [
            v for k, v in verdicts_of(emits) if where(k) == p]


def test_the_same_decisions_pack_to_the_same_records_and_read_back() -> None:
    first, _ = packed_verdicts(many_companies(5), lambda k: partition_for(k, 4), 100, 500_000,
                               STABLE_IDS)
    again, _ = packed_verdicts(many_companies(5), lambda k: partition_for(k, 4), 100, 500_000,
                               STABLE_IDS)
    assert [codec.dumps(e.event) for e in first] == [codec.dumps(e.event) for e in again]
    for record in first:
        assert GateVerdictRecord.model_validate(codec.loads(codec.dumps(record.event))).root \
            == record.event


def test_a_verdict_written_before_packing_still_reads_as_one_verdict() -> None:
    [(_, verdict), *_] = verdicts_of(many_companies(1))
    legacy = codec.loads(codec.dumps(verdict))
    assert "type" not in legacy  # a single verdict is written as before packing
    assert GateVerdictRecord.model_validate(legacy).root == verdict


def test_the_byte_bound_cuts_records_where_the_next_verdict_would_not_fit() -> None:
    emits = many_companies(1)
    heaviest = max(verdict_weight(v) for _, v in verdicts_of(emits))
    records, _ = packed_verdicts(emits, lambda _k: 0, 100, 2 * heaviest, STABLE_IDS)
    sizes = [sum(map(verdict_weight, r.event.verdicts))  # type: ignore[attr-defined]
             for r in records]
    assert all(size <= 2 * heaviest for size in sizes) and len(records) >= 2


def test_packs_refuses_fewer_than_one_item_a_record() -> None:
    with pytest.raises(ValueError, match="per_record"):
        packs([("k", 1)], lambda _k: 0, 0, 10, lambda _i: 1)


def test_an_item_heavier_than_the_bound_is_a_record_of_its_own() -> None:
    members = [("a", 5), ("b", 50), ("c", 5)]
    assert packs(members, lambda _k: 0, 10, 20, lambda i: i) == [[("a", 5)], [("b", 50)],
                                                                 [("c", 5)]]
