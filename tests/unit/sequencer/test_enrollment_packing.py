"""Enrollments packed many to a record (agents/sequencer/packing.py): every enrollment once, in
the order given per partition, each record on one partition and keyed by its first person,
within the count and byte bounds; the nudges and other emits untouched; and the topic's value
reads a pack, and one enrollment written as before packing."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.sequencer.enrollment import contact_key_for
from agents.sequencer.packing import COMMANDS_TOPIC, enrollment_weight, packed_enrollments
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.models import (
    CheckDuePeople,
    EnrollContact,
    EnrollContacts,
    SequenceCommand,
)
from streams.contracts.models.sequence import command_key
from streams.kernel.partitioning import partition_for

AT = datetime(2026, 11, 23, 12, tzinfo=UTC)


def enrollment(n: int, person: int) -> EnrollContact:
    address = f"person{person}@company{person % 7}.example"
    return EnrollContact(
        enrollment_id=f"verdict-{n}", contact_key=contact_key_for(address), lead_id=f"lead-{n}",
        company_sov_id=f"cmp_{person % 7}", campaign_id="cmp-x", strategy="PERSONALIZED_EMAIL",
        tier="HOT", to_email=address, correlation_id=f"corr-{n}", requested_at=AT)


def emits_of(people: list[int]) -> list[Emit]:
    """An enrollment per entry (a person may come twice), and a nudge between them."""
    out = [Emit(COMMANDS_TOPIC, e.contact_key, e)
           for e in (enrollment(n, person) for n, person in enumerate(people))]
    nudge = CheckDuePeople(partition=0, contact_keys=("k",), issued_at=AT)
    return [*out[:1], Emit(COMMANDS_TOPIC, "k", nudge, 0), *out[1:]]


@settings(max_examples=40, deadline=None)
@given(people=st.lists(st.integers(0, 30), min_size=1, max_size=40),
       partitions=st.integers(1, 6), per_record=st.integers(1, 9))
def test_every_enrollment_once_in_order_on_its_records_partition(
        people: list[int], partitions: int, per_record: int) -> None:
    emits = emits_of(people)

    def where(key: str) -> int:
        return partition_for(key, partitions)

    records, others = packed_enrollments(emits, where, per_record, 1_000_000)
    assert others == [e for e in emits if not isinstance(e.event, EnrollContact)]
    given_ = [e.event for e in emits if isinstance(e.event, EnrollContact)]
    unpacked: list[EnrollContact] = []
    for record in records:
        assert isinstance(record.event, EnrollContacts) and record.topic == COMMANDS_TOPIC
        keys = [e.contact_key for e in record.event.enrollments]
        assert 1 <= len(keys) <= per_record
        assert record.key == keys[0] == command_key(record.event)
        assert {where(k) for k in keys} == {where(record.key)}
        unpacked += record.event.enrollments
    assert sorted(e.enrollment_id for e in unpacked) == sorted(e.enrollment_id for e in given_)
    for p in range(partitions):
        assert [e for e in unpacked if where(e.contact_key) == p] == [
            e for e in given_ if where(e.contact_key) == p]


def test_a_pack_and_one_enrollment_both_read_back_from_the_topic() -> None:
    [record], _ = packed_enrollments(emits_of([1, 2, 1]), lambda _k: 0, 100, 1_000_000)
    assert SequenceCommand.model_validate(codec.loads(codec.dumps(record.event))).root \
        == record.event
    one = enrollment(9, 9)
    assert codec.loads(codec.dumps(one))["type"] == "enroll_contact"  # as before packing
    assert SequenceCommand.model_validate(codec.loads(codec.dumps(one))).root == one


def test_the_byte_bound_cuts_records_where_the_next_enrollment_would_not_fit() -> None:
    emits = emits_of(list(range(10)))
    heaviest = max(enrollment_weight(e.event) for e in emits
                   if isinstance(e.event, EnrollContact))
    records, _ = packed_enrollments(emits, lambda _k: 0, 100, 3 * heaviest)
    sizes = [sum(map(enrollment_weight, r.event.enrollments))  # type: ignore[attr-defined]
             for r in records]
    assert all(size <= 3 * heaviest for size in sizes) and len(records) >= 4
