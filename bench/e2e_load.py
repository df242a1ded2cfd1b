"""The load of bench/e2e.py: lead batches with a realistic mix, BIT scores, replies, and a
publisher that either goes flat out or holds a pace.

The mix comes from streams/sample.py (tiers over every score band, a company whose score never
comes, ~25% not ENRICHED, golden rules broken on ~13% of the enriched cards) plus what a
producer's retries and a CRM's duplicates add: every 50th batch published twice (same
batch_id), 1% of the cards naming a person an earlier card named (another lead, same address),
and 0.2% of the cards invalid (dead-lettered by intake).
"""

from __future__ import annotations

import asyncio
import random
import time
from array import array
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from agents.engagement.core import contact_key_of
from streams import sample

LEADS_PER_COMPANY = 20  # "many companies": a million leads over 50,000 companies
REPUBLISH_EVERY = 50
CREATED = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def lead_id(n: int) -> str:
    return f"lead-{n:08d}"


def companies_for(leads: int) -> int:
    return max(12, leads // LEADS_PER_COMPANY)


def score_records(companies: int) -> list[tuple[bytes, bytes]]:
    return [(s["company_sov_id"].encode(), orjson.dumps(s))
            for s in sample.bit_scores(companies)]


class Cards:
    """Card n of the run, deterministic in n (the same n is the same card)."""

    def __init__(self, companies: int, seed: int = 14) -> None:
        self.comps = [sample.company(i) for i in range(companies)]
        self.seed = seed

    def card(self, n: int) -> dict[str, Any]:
        rng = random.Random(self.seed * 1_000_003 + n)
        doc = sample.lead_card(rng, n, self.comps[n % len(self.comps)],
                               CREATED - timedelta(seconds=n))
        doc["lead_id"] = lead_id(n)
        roll = rng.random()
        if roll < 0.002:
            doc["source_platform"] = "myspace"  # not a platform of the contract: dead letter
        elif roll < 0.012 and "enrichment" in doc:
            # The person of an earlier card of the same company: another lead, same address.
            earlier = n - len(self.comps) * (1 + rng.randrange(3))
            twin = self.card(earlier) if earlier >= 0 else {}
            if "enrichment" in twin:
                doc["enrichment"]["contact"] = twin["enrichment"]["contact"]
        return doc

    def batch(self, batch_id: str, first: int, count: int) -> tuple[bytes, bytes]:
        """The batch record, and per card 1 when it is to be gated (valid and ENRICHED)."""
        records = [self.card(n) for n in range(first, first + count)]
        gated = bytes(1 if r["enrichment_status"] == "ENRICHED"
                      and r["source_platform"] != "myspace" else 0 for r in records)
        return orjson.dumps({
            "batch_id": batch_id, "schema_version": "v1",
            "created_at": CREATED.isoformat().replace("+00:00", "Z"),
            "source": "social-xpress-engine", "target": "nextier-execution",
            "records": records}), gated


class Publisher:
    """Publishes lead batches and remembers when each lead went out (publish_ts[n])."""

    def __init__(self, bootstrap: str, topic: str, cards: Cards) -> None:
        self.bootstrap, self.topic, self.cards = bootstrap, topic, cards
        self.publish_ts = array("d")
        self.gated = bytearray()  # per lead: 1 when a verdict is due
        self.batches = 0
        self.republished = 0
        self.producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5,
                                         max_request_size=16 * 2**20)
        await self.producer.start()

    async def stop(self) -> None:
        if self.producer is not None:
            await self.producer.stop()

    @property
    def published(self) -> int:
        return len(self.publish_ts)

    async def send_batch(self, count: int) -> None:
        assert self.producer is not None
        first = self.published
        batch_id = f"sxp_bench_{self.batches:06d}"
        value, gated = self.cards.batch(batch_id, first, count)
        self.batches += 1
        now = time.time()
        await (await self.producer.send(self.topic, value=value, key=batch_id.encode()))
        self.publish_ts.extend([now] * count)
        self.gated.extend(gated)
        if self.batches % REPUBLISH_EVERY == 2:  # a producer's retry: the same batch again
            await self.producer.send_and_wait(self.topic, value=value, key=batch_id.encode())
            self.republished += 1

    def expected(self, first: int, end: int) -> list[str]:
        """The leads of first..end-1 a verdict is due for."""
        return [lead_id(n) for n in range(first, end) if self.gated[n]]

    async def flat_out(self, leads: int, size: int = 1000,
                       tick: Callable[[], None] | None = None) -> None:
        end = self.published + leads
        while self.published < end:
            await self.send_batch(min(size, end - self.published))
            if tick:
                tick()

    async def paced(self, rate: float, seconds: float, size: int = 1000,
                    tick: Callable[[], None] | None = None,
                    during: Callable[[float], Any] | None = None) -> int:
        """About `rate` leads/s for `seconds`: batch k of `size` cards goes out at k * size /
        rate (the shape of the flat-out run, whose rate this is a fraction of). `during` and
        `tick` are called at least twice a second. Returns the leads sent."""
        start, first = time.monotonic(), self.published
        total = max(1, int(rate * seconds))
        k = 0
        while self.published - first < total:
            elapsed = time.monotonic() - start
            if elapsed >= k * size / rate:
                await self.send_batch(min(size, total - (self.published - first)))
                k += 1
            if during:
                await during(elapsed)
            if tick:
                tick()
            await asyncio.sleep(max(0.0, min(0.5, start + k * size / rate - time.monotonic())))
        return self.published - first


def reply(aggregate_id: str, n: int) -> tuple[bytes, bytes]:
    """A provider event of the hub's own shape: this person replied, keyed as the hub's
    webhook ingress keys it (by the person: agents/engagement/ingress/keys.py)."""
    return contact_key_of(aggregate_id).encode(), orjson.dumps({
        "provider": "hub", "provider_event_id": f"bench-reply-{n}", "type": "replied",
        "occurred_at": datetime.now(UTC).isoformat(), "aggregate_id": aggregate_id})
