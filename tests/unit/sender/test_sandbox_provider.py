"""The sandbox provider (deterministic webhook payloads in hub time); also the adapters' shared
input model and ``build_adapter``. Pure: no I/O."""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from agents.sender.email import OutgoingEmail
from agents.sender.exceptions import SendFailed
from streams.adapters.email import (
    ProviderAdapter,
    SandboxProvider,
    SandboxRates,
    SandboxSettings,
    SmtpSettings,
    build_adapter,
)
from streams.contracts.exceptions import ConfigurationError
from streams.contracts.models.engagement import ProviderEventNormalized

T0 = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
SG_EVENTS = {"delivered", "open", "click", "bounce", "spamreport", "unsubscribe"}
SG_KEYS = {"email", "timestamp", "smtp-id", "event", "sg_event_id", "sg_message_id", "category"}
ARGS = {"aggregate_id", "idempotency_key", "touch_index", "campaign_id"}


class FakeClock:
    at = T0

    def now(self) -> datetime:
        return self.at


def make_email(n: int, **overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "to_email": f"contact{n}@acmeroofing.com",
        "from_email": "alex@outreach.example.com",
        "subject": "Roof season planning",
        "text_body": "Hi there",
        "aggregate_id": f"seq-roofing:{n}",
        "idempotency_key": f"seq-roofing:{n}:touch-1",
        "touch_index": 1,
        "unsubscribe_url": "https://hub.example.com/u/one-click",
        "custom_args": {"campaign_id": "cmp-42"},
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


class Harness:
    def __init__(self, seed: int = 7, settings: SandboxSettings | None = None) -> None:
        self.clock = FakeClock()
        self.published: list[dict[str, Any] | list[dict[str, Any]]] = []
        self.provider = SandboxProvider(self.publish, self.clock.now, random.Random(seed), settings)

    async def publish(self, payload: dict[str, Any] | list[dict[str, Any]]) -> None:
        self.published.append(payload)

    async def send_many(self, count: int) -> dict[str, str]:
        ids = {}  # idempotency_key -> provider message id
        for n in range(count):
            receipt = await self.provider.send(make_email(n))
            ids[make_email(n).idempotency_key] = receipt.provider_message_id
        return ids

    def flat(self) -> list[dict[str, Any]]:
        return [e for p in self.published for e in (p if isinstance(p, list) else [p])]

    async def drain(self) -> list[dict[str, Any]]:
        self.clock.at = T0 + timedelta(days=10)
        await self.provider.flush_due()
        assert self.provider.pending == 0
        return self.flat()


def key_of(event: dict[str, Any]) -> str:
    return str(event["idempotency_key"])


def kind_of(event: dict[str, Any]) -> str:
    return str(event.get("event") or event["type"])


def event_id(event: dict[str, Any]) -> str:
    return str(event.get("sg_event_id") or event["provider_event_id"])


def unique(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for e in events:
        seen.setdefault(event_id(e), e)
    return list(seen.values())


async def test_payloads_are_sendgrid_events_or_hub_form_replies() -> None:
    h = Harness()
    ids = await h.send_many(600)
    events = await h.drain()
    kinds = Counter(kind_of(e) for e in events)
    assert set(kinds) == SG_EVENTS | {"replied", "auto_replied"}
    for e in events:
        pmid = ids[key_of(e)]
        if "sg_event_id" in e:
            assert set(e) >= SG_KEYS | ARGS
            assert e["event"] in SG_EVENTS
            assert isinstance(e["timestamp"], int) and e["timestamp"] >= T0.timestamp() - 1
            assert e["sg_message_id"].split(".", 1)[0] == pmid
            assert e["email"].endswith("@acmeroofing.com")
            assert e["campaign_id"] == "cmp-42" and e["touch_index"] == "1"
            if e["event"] == "bounce":
                assert (e["type"], e["status"][0]) in {("bounce", "5"), ("blocked", "4")}
            if e["event"] == "click":
                assert e["url"].startswith("https://")
        else:
            normalized = ProviderEventNormalized.model_validate(e)
            assert normalized.provider == "sandbox"
            assert normalized.type in {"replied", "auto_replied"}
            assert normalized.provider_message_id == pmid
            assert normalized.occurred_at >= T0
        assert e["aggregate_id"] == key_of(e).removesuffix(":touch-1")


async def test_bounced_message_produces_nothing_else_and_clicks_follow_opens() -> None:
    h = Harness(seed=11)
    await h.send_many(1500)
    by_message: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in unique(await h.drain()):
        by_message[key_of(e)].append(e)
    bounced = 0
    for events in by_message.values():
        kinds = {kind_of(e) for e in events}
        if "bounce" in kinds:
            bounced += 1
            assert kinds == {"bounce"}
            continue
        assert "delivered" in kinds
        at = {kind_of(e): e.get("timestamp") for e in events}
        if "click" in kinds:
            assert "open" in kinds and at["delivered"] <= at["open"] <= at["click"]
    assert bounced > 0


async def test_rates_over_5000_sends_match_configuration() -> None:
    h = Harness(seed=2026)
    await h.send_many(5000)
    events = unique(await h.drain())
    counts = Counter(kind_of(e) for e in events)
    hard = sum(1 for e in events if kind_of(e) == "bounce" and e["type"] == "bounce")
    rates = SandboxRates()
    sends, delivered = 5000, counts["delivered"]
    assert delivered + counts["bounce"] == sends

    def close_to(count: int, n: int, p: float) -> bool:
        return abs(count / n - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-9

    assert close_to(counts["bounce"], sends, rates.bounce)
    assert close_to(hard, counts["bounce"], rates.hard_bounce_share)
    for kind, p in [
        ("open", rates.open),
        ("click", rates.click),
        ("replied", rates.reply),
        ("auto_replied", rates.auto_reply),
        ("spamreport", rates.complaint),
        ("unsubscribe", rates.unsubscribe),
    ]:
        assert close_to(counts[kind], delivered, p), (kind, counts[kind] / delivered, p)


async def test_same_seed_same_payloads() -> None:
    first, second = Harness(seed=5), Harness(seed=5)
    await first.send_many(200)
    await second.send_many(200)
    assert await first.drain() == await second.drain()


async def test_flush_publishes_only_due_events_in_time_order() -> None:
    # Without redeliveries: a duplicate is published late, under its original timestamp.
    h = Harness(seed=3, settings=SandboxSettings(rates=SandboxRates(duplicate=0.0)))
    await h.send_many(300)
    assert await h.provider.flush_due() == 0  # nothing is due at the moment of sending
    h.clock.at = T0 + timedelta(minutes=3)
    early = await h.provider.flush_due()
    assert early > 0
    assert all(kind_of(e) in {"delivered", "bounce", "auto_replied"} for e in h.flat())
    h.published.clear()
    events = await h.drain()
    stamps = [
        e.get("timestamp") or datetime.fromisoformat(e["occurred_at"]).timestamp() for e in events
    ]
    assert stamps == sorted(stamps)


async def test_sendgrid_events_are_batched() -> None:
    h = Harness(settings=SandboxSettings(batch_size=10))
    await h.send_many(100)
    await h.drain()
    batches = [p for p in h.published if isinstance(p, list)]
    assert batches and all(1 <= len(b) <= 10 for b in batches)
    assert any(isinstance(p, dict) for p in h.published)


async def test_resend_is_the_same_message() -> None:
    h = Harness()
    first = await h.provider.send(make_email(1))
    pending = h.provider.pending
    again = await h.provider.send(make_email(1))
    assert again == first and h.provider.pending == pending


async def test_duplicates_reuse_the_event_id() -> None:
    h = Harness(settings=SandboxSettings(rates=SandboxRates(duplicate=1.0)))
    await h.send_many(20)
    ids = Counter(event_id(e) for e in await h.drain())
    assert set(ids.values()) == {2}


async def test_failed_publish_keeps_events_pending() -> None:
    h = Harness()
    await h.send_many(50)
    h.clock.at = T0 + timedelta(days=10)
    total = h.provider.pending

    async def broken(payload: Any) -> None:
        raise ConnectionError("broker down")

    h.provider._publish = broken
    with pytest.raises(ConnectionError):
        await h.provider.flush_due()
    assert h.provider.pending == total
    h.provider._publish = h.publish
    assert await h.provider.flush_due() == total


async def test_simulated_transient_failure() -> None:
    h = Harness(settings=SandboxSettings(rates=SandboxRates(transient_failure=1.0)))
    with pytest.raises(SendFailed) as caught:
        await h.provider.send(make_email(1))
    assert caught.value.transient is True and h.provider.pending == 0


async def test_background_flush_and_close() -> None:
    h = Harness(settings=SandboxSettings(poll_interval=0.01))
    await h.send_many(10)
    h.provider.start()
    h.clock.at = T0 + timedelta(days=10)
    for _ in range(100):  # wall time: the background task polls every 10 ms
        await asyncio.sleep(0.01)
        if h.provider.pending == 0:
            break
    await h.provider.close()
    assert h.provider.pending == 0 and h.published


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hi\r\nBcc: everyone@example.com"},
        {"to_email": "not an address"},
        {"to_email": "jane@acme.com\nX: y"},
        {"unsubscribe_url": "http://hub.example.com/u"},  # RFC 8058: https
        {"unsubscribe_url": "https://hub.example.com/u>, <https://evil.example"},
        {"unsubscribe_mailto": "mailto:not-an-address"},
        {"custom_args": {"aggregate_id": "spoof"}},
        {"custom_args": {"Campaign": "x"}},
    ],
)
def test_outgoing_email_rejects_unsafe_values(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_email(1, **overrides)
    with pytest.raises(ValidationError):  # and a click implies an open
        SandboxRates(open=0.1, click=0.2)


def test_outgoing_email_normalizes_mailto_and_allows_loopback_http() -> None:
    e = make_email(1, unsubscribe_url="http://127.0.0.1:6066/u", unsubscribe_mailto="u@x.example")
    assert e.list_unsubscribe_headers()["List-Unsubscribe"] == (
        "<http://127.0.0.1:6066/u>, <mailto:u@x.example>"
    )


async def test_build_adapter() -> None:
    h = Harness()
    sandbox = build_adapter("sandbox", publish=h.publish, now=h.clock.now)
    smtp = build_adapter("smtp", smtp=SmtpSettings())
    assert isinstance(sandbox, ProviderAdapter) and isinstance(smtp, ProviderAdapter)
    assert (sandbox.name, smtp.name) == ("sandbox", "smtp")
    for name in ("sandbox", "smtp", "sendgrid", "mailchimp"):  # settings missing / unknown
        with pytest.raises(ConfigurationError):
            build_adapter(name)
