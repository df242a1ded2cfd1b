"""The sending-domain view on the real broker: a PAUSE told to a campaign on any partition
reaches every worker's view, so a new draft from that domain is judged on it wherever the
campaign stage runs."""

from __future__ import annotations

import asyncio

import pytest

from streams.admin import create_topics, produce
from streams.contracts import codec
from streams.contracts.topics import load_catalog
from streams.kernel.domain_health import DomainHealthView
from streams.kernel.kafka_security import PLAINTEXT
from tests.unit.kernel.test_domain_health_view import verdict

pytestmark = pytest.mark.integration


async def test_a_pause_on_any_partition_reaches_the_view_and_a_later_verdict_lifts_it(
    broker: str,
) -> None:
    spec = load_catalog(partitions_override=4)["campaign_health"]
    await create_topics(broker, [spec], security=PLAINTEXT)
    # The pause is told to eight campaigns (keys over all four partitions), one copy each.
    pause = [verdict("PAUSE", 0, campaign=f"cmp-{n}") for n in range(8)]
    await produce(broker, spec.name, [(v.campaign_id.encode(), codec.dumps(v)) for v in pause]
                  + [(b"cmp-x", b"{not a verdict")], security=PLAINTEXT)
    view = DomainHealthView(spec.name, broker, security=PLAINTEXT)
    follower = asyncio.create_task(view.follow())
    try:
        for _ in range(120):
            if view.ready:
                break
            await asyncio.sleep(0.25)
        assert view.ready
        assert view.pause("mail.example.com") == "hv-PAUSE-0"
        healthy = verdict("HEALTHY", 30, campaign="cmp-5")
        await produce(broker, spec.name, [(b"cmp-5", codec.dumps(healthy))], security=PLAINTEXT)
        for _ in range(60):
            if view.pause("mail.example.com") is None:
                break
            await asyncio.sleep(0.25)
        assert view.pause("mail.example.com") is None
    finally:
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
