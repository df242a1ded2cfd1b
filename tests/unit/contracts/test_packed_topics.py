"""The hub's packed topics (streams/contracts/packing.py), one table of cases: enrollments
(agents/sequencer/packing.py), health observations (agents/campaigns/health_packing.py),
placements (agents/engagement/placement_packing.py) and campaign requests
(agents/campaigns/request_packing.py). For each: every item once, in the order
given per partition, each record on one partition and keyed by its first item's key (the key
topics.yaml declares), within the count and byte bounds; the other emits untouched; and the
topic's value reads a pack, and one item written as before packing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from agents.campaigns.health_input import observations
from agents.campaigns.health_packing import observation_weight, packed_observations
from agents.campaigns.request_packing import command_weight, packed_requests
from agents.engagement.placement_packing import packed_placements, placement_weight
from agents.sequencer.enrollment import contact_key_for
from agents.sequencer.packing import enrollment_weight, packed_enrollments
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.models import (
    CampaignCommand,
    CampaignCommandRecord,
    CampaignHealthInput,
    CampaignHealthObserved,
    CheckDuePeople,
    EnrollContact,
    MessagePlacement,
    OutreachErrorRaised,
    PlacementRecord,
    SendRecorded,
    SequenceCommand,
)
from streams.contracts.models.sequence import command_key
from streams.contracts.packing import Packer
from streams.kernel.partitioning import partition_for

AT = datetime(2026, 11, 23, 12, tzinfo=UTC)
HUB = {"occurred_at": AT, "correlation_id": "corr",
       "process_id": "outreach-execution-campaign-20261123-0a1b2c3d"}


def enrollments(n: int, of: int) -> list[Emit]:
    address = f"person{of}@company{of % 7}.example"
    e = EnrollContact(enrollment_id=f"verdict-{n}", contact_key=contact_key_for(address),
                      lead_id=f"lead-{n}", strategy="PERSONALIZED_EMAIL", to_email=address,
                      correlation_id=f"corr-{n}", requested_at=AT)
    return [Emit("sequence_commands", e.contact_key, e)]


def health(n: int, of: int) -> list[Emit]:
    send = SendRecorded(**HUB, event_id=f"send-{n}", aggregate_id=f"seq-{n}:p{n}",
                        contact_key=f"p{n}", campaign_id=f"cmp-{of}", touch_index=1,
                        idempotency_key=f"k-{n}", status="sent")
    return list(observations(send, "hub.example"))  # the campaign's, the domain's


def requests(n: int, of: int) -> list[Emit]:
    c = CampaignCommand(command_id=f"gate:verdict-{n}", command="request",
                        campaign_id=f"cmp-{of}", actor="system:gate", issued_at=AT,
                        company_sov_id=f"co-{of}", strategy="PERSONALIZED_EMAIL", audience=1)
    return [Emit("campaign_commands", c.campaign_id, c)]


def placements(n: int, of: int) -> list[Emit]:
    p = MessagePlacement(provider_message_id=f"msg-{of}", aggregate_id=f"seq-{n}:p{n}",
                         issued_at=AT)
    return [Emit("engagement_placement", p.provider_message_id, p)]


@dataclass(frozen=True)
class Packed:
    topic: str
    item: type  # what is packed
    emits: Callable[[int, int], list[Emit]]  # (n, of whom) -> the emits of one decision
    packer: Packer
    weight: Callable[[Any], int]
    items: Callable[[Any], tuple[Any, ...]]  # a record's value -> its items
    key_of: Callable[[Any], str]  # an item's key
    read: Callable[[Any], tuple[Any, ...]]  # a record's JSON -> its items, as the topic reads


CASES = {
    "enrollments": Packed(
        "sequence_commands", EnrollContact, enrollments, packed_enrollments, enrollment_weight,
        lambda v: v.enrollments, lambda e: e.contact_key,
        lambda doc: SequenceCommand.model_validate(doc).enrollments),
    "health observations": Packed(
        "campaign_health_input", CampaignHealthObserved, health, packed_observations,
        observation_weight,
        lambda v: v.observations, lambda o: o.scope,
        lambda doc: CampaignHealthInput.model_validate(doc).observations),
    "placements": Packed(
        "engagement_placement", MessagePlacement, placements, packed_placements, placement_weight,
        lambda v: v.placements, lambda p: p.provider_message_id,
        lambda doc: PlacementRecord.model_validate(doc).placements),
    "campaign requests": Packed(
        "campaign_commands", CampaignCommand, requests, packed_requests, command_weight,
        lambda v: v.commands, lambda c: c.campaign_id,
        lambda doc: CampaignCommandRecord.model_validate(doc).commands),
}


def decisions(case: Packed, whom: list[int]) -> list[Emit]:
    """The case's emits for each entry (one may come twice), and two that are not its items."""
    nudge = CheckDuePeople(partition=0, contact_keys=("k",), issued_at=AT)
    error = OutreachErrorRaised(**HUB, event_id="err-1", code="OUT-003", severity="high",
                                stage="sender", reason="refused")
    out = [e for n, of in enumerate(whom) for e in case.emits(n, of)]
    return [*out[:1], Emit("sequence_commands", "k", nudge, 0), Emit("errors", "x", error),
            *out[1:]]


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
@settings(max_examples=25, deadline=None)
@given(whom=st.lists(st.integers(0, 30), min_size=1, max_size=30),
       partitions=st.integers(1, 6), per_record=st.integers(1, 9))
def test_every_item_once_in_order_on_its_records_partition(
        case: Packed, whom: list[int], partitions: int, per_record: int) -> None:
    emits = decisions(case, whom)

    def where(key: str) -> int:
        return partition_for(key, partitions)

    records, others = case.packer(emits, where, per_record, 1_000_000)
    mine = [e for e in emits if e.topic == case.topic and isinstance(e.event, case.item)]
    assert mine and others == [e for e in emits if e not in mine]
    unpacked: list[Any] = []
    for record in records:
        items = case.items(record.event)
        keys = [case.key_of(i) for i in items]
        assert record.topic == case.topic and 1 <= len(keys) <= per_record
        assert record.key == keys[0] and {where(k) for k in keys} == {where(record.key)}
        unpacked += items
    given_ = [e.event for e in mine]
    assert len(unpacked) == len(given_)
    for p in range(partitions):
        assert [i for i in unpacked if where(case.key_of(i)) == p] == [
            i for i in given_ if where(case.key_of(i)) == p]


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_a_pack_and_one_item_written_as_before_packing_both_read_back(case: Packed) -> None:
    [record], _ = case.packer(decisions(case, [1, 2, 1]), lambda _k: 0, 100, 1_000_000)
    assert isinstance(record.event, BaseModel)
    items = case.items(record.event)
    assert case.read(codec.loads(codec.dumps(record.event))) == items
    one = codec.loads(codec.dumps(items[0]))
    assert one.get("type") in (None, "enroll_contact")  # as written before packing
    assert case.read(one) == (items[0],)


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_the_byte_bound_cuts_records_where_the_next_item_would_not_fit(case: Packed) -> None:
    emits = decisions(case, list(range(10)))
    heaviest = max(case.weight(e.event) for e in emits if isinstance(e.event, case.item))
    records, _ = case.packer(emits, lambda _k: 0, 100, 3 * heaviest)
    sizes = [sum(map(case.weight, case.items(r.event))) for r in records]
    assert all(size <= 3 * heaviest for size in sizes) and len(records) >= 4


def test_packed_enrollments_are_keyed_as_the_topic_declares() -> None:
    [record], _ = packed_enrollments(decisions(CASES["enrollments"], [3, 4]), lambda _k: 0,
                                     100, 1_000_000)
    assert record.key == command_key(record.event)  # type: ignore[arg-type]
