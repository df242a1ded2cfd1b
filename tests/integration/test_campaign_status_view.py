"""The campaign-status view on the real broker: ready only once it has read what the topic held
at start, so a restarted sequencer never mistakes a paused campaign for an unknown one; caught
up on demand, so the sender never refuses a touch of a campaign approved a moment earlier."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.admin import create_topics, produce
from streams.contracts.topics import load_catalog
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.kafka_security import PLAINTEXT

pytestmark = pytest.mark.integration
BULK = 20_000


def changed(campaign: str, version: int, to_state: str) -> tuple[bytes, bytes]:
    return campaign.encode(), orjson.dumps({
        "event_id": f"{campaign}-{version}", "occurred_at": datetime(2026, 11, 25, tzinfo=UTC),
        "correlation_id": "c", "process_id": "outreach-execution-campaign-20261125-0a1b2c3d",
        "campaign_id": campaign, "version": version, "from_state": None, "to_state": to_state,
        "actor": "ops"})


async def test_ready_only_after_every_event_present_at_start_is_folded(broker: str) -> None:
    spec = load_catalog(partitions_override=3)["campaign_events"]
    await create_topics(broker, [spec], security=PLAINTEXT)
    history = [changed("cmp-1", 1, "active"), changed("cmp-1", 2, "paused"),
               changed("cmp-2", 1, "cancelled"), (b"cmp-3", b"{not an event")]
    # More than one fetch returns (1 MiB per partition): readiness must wait for all of it.
    history += [changed(f"cmp-bulk-{n}", 1, "active") for n in range(BULK)]
    await produce(broker, spec.name, history, security=PLAINTEXT)

    view = CampaignStatusView(spec.name, broker, security=PLAINTEXT)
    follower = asyncio.create_task(view.follow())
    try:
        await asyncio.wait_for(view.wait_ready(), 30)
        assert view.ready
        assert view.status("cmp-1") == "paused"
        assert view.status("cmp-2") == "cancelled"
        assert [n for n in range(BULK) if view.status(f"cmp-bulk-{n}") != "active"] == []
        assert view.status("cmp-3") is None  # unreadable: skipped, not fatal
        # Later events keep flowing in after readiness.
        await produce(broker, spec.name, [changed("cmp-1", 3, "active")], security=PLAINTEXT)
        for _ in range(40):
            if view.status("cmp-1") == "active":
                break
            await asyncio.sleep(0.25)
        assert view.status("cmp-1") == "active"
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower


async def test_an_empty_topic_is_ready_at_once(broker: str) -> None:
    spec = load_catalog(partitions_override=2)["campaign_events"]
    await create_topics(broker, [spec], security=PLAINTEXT)
    view = CampaignStatusView(spec.name, broker, security=PLAINTEXT)
    follower = asyncio.create_task(view.follow())
    try:
        await asyncio.wait_for(view.wait_ready(), 30)
        assert view.status("anything") is None
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower


async def test_caught_up_means_every_event_written_before_is_folded(broker: str) -> None:
    spec = load_catalog(partitions_override=3)["campaign_events"]
    await create_topics(broker, [spec], security=PLAINTEXT)
    view = CampaignStatusView(spec.name, broker, security=PLAINTEXT)
    follower = asyncio.create_task(view.follow())
    producer = AIOKafkaProducer(bootstrap_servers=broker, acks="all")
    await producer.start()
    try:
        await asyncio.wait_for(view.wait_ready(), 30)
        for n in range(5):
            # What the sender meets: a campaign approved a moment before its touch came in
            # (the follower's fetch may still be waiting on the broker).
            key, value = changed(f"cmp-new-{n}", 1, "active")
            await producer.send_and_wait(spec.name, value, key=key)
            assert await view.caught_up(10)
            assert view.status(f"cmp-new-{n}") == "active"  # no sleep, no retry
    finally:
        await producer.stop()
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
