"""Health observations packed many to a record (agents/campaigns/health_packing.py): every
observation once, in the order observed per partition, each record on one partition and keyed
by its first scope, within the count and byte bounds; other emits untouched; and the topic's
value reads a pack, and one observation written as before packing (no type)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.campaigns.health_input import TOPIC, observations
from agents.campaigns.health_packing import observation_weight, packed_observations
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.models import (
    CampaignHealthInput,
    CampaignHealthObservations,
    CampaignHealthObserved,
    EngagementRecorded,
    SendRecorded,
)
from streams.kernel.partitioning import partition_for

AT = datetime(2026, 11, 23, 12, tzinfo=UTC)
HUB = {"occurred_at": AT, "correlation_id": "corr", "process_id":
       "outreach-execution-campaign-20261123-0a1b2c3d"}


def reports(campaigns: list[int]) -> list[Emit]:
    """What the router emits for a send report of each campaign given, a reply to every third,
    and an error record between them (not an observation: left alone)."""
    out: list[Emit] = []
    for n, campaign in enumerate(campaigns):
        send = SendRecorded(**HUB, event_id=f"send-{n}", aggregate_id=f"seq-{n}:p{n}",
                            contact_key=f"p{n}", campaign_id=f"cmp-{campaign}", touch_index=1,
                            idempotency_key=f"k-{n}", status="sent")
        out += observations(send, "hub.example")
        if n % 3 == 0:
            reply = EngagementRecorded(**HUB, event_id=f"reply-{n}", aggregate_id=send.aggregate_id,
                                       contact_key=f"p{n}", campaign_id=f"cmp-{campaign}",
                                       provider="hub", provider_event_id=f"r-{n}", type="replied")
            out += observations(reply, "hub.example")
    return [*out[:1], Emit("errors", "x", CampaignHealthObserved(
        scope="not-packed", observation_id="o", kind="send", sending_domain="d",
        occurred_at=AT, correlation_id="c")), *out[1:]]


@settings(max_examples=40, deadline=None)
@given(campaigns=st.lists(st.integers(0, 20), min_size=1, max_size=30),
       partitions=st.integers(1, 6), per_record=st.integers(1, 9))
def test_every_observation_once_in_order_on_its_records_partition(
        campaigns: list[int], partitions: int, per_record: int) -> None:
    emits = reports(campaigns)

    def where(key: str) -> int:
        return partition_for(key, partitions)

    records, others = packed_observations(emits, where, per_record, 1_000_000)
    assert others == [e for e in emits if e.topic != TOPIC]
    given_ = [e.event for e in emits if e.topic == TOPIC]
    unpacked: list[CampaignHealthObserved] = []
    for record in records:
        assert isinstance(record.event, CampaignHealthObservations) and record.topic == TOPIC
        scopes = [o.scope for o in record.event.observations]
        assert 1 <= len(scopes) <= per_record and record.key == scopes[0]
        assert {where(s) for s in scopes} == {where(record.key)}
        unpacked += record.event.observations
    assert sorted(o.observation_id + o.scope for o in unpacked) == sorted(
        o.observation_id + o.scope for o in given_)  # type: ignore[attr-defined]
    for p in range(partitions):
        assert [o for o in unpacked if where(o.scope) == p] == [
            o for o in given_ if where(o.scope) == p]  # type: ignore[attr-defined]


def test_a_pack_and_one_observation_written_before_packing_both_read_back() -> None:
    [record], _ = packed_observations(reports([1, 2]), lambda _k: 0, 100, 1_000_000)
    assert CampaignHealthInput.model_validate(codec.loads(codec.dumps(record.event))) \
        .observations == record.event.observations  # type: ignore[attr-defined]
    one = record.event.observations[0]  # type: ignore[attr-defined]
    legacy = codec.loads(codec.dumps(one))
    assert "type" not in legacy  # a single observation is written as before packing
    assert CampaignHealthInput.model_validate(legacy).observations == (one,)


def test_the_byte_bound_cuts_records_where_the_next_observation_would_not_fit() -> None:
    emits = reports(list(range(8)))
    heaviest = max(observation_weight(e.event) for e in emits  # type: ignore[arg-type]
                   if e.topic == TOPIC)
    records, _ = packed_observations(emits, lambda _k: 0, 100, 3 * heaviest)
    sizes = [sum(map(observation_weight, r.event.observations))  # type: ignore[attr-defined]
             for r in records]
    assert all(size <= 3 * heaviest for size in sizes) and len(records) >= 4
