"""The sandbox provider: the embedded default and the demo's email provider.

It accepts every message (or, if asked, fails some transiently) and schedules what a real
provider would report later, in hub time: SendGrid Event Webhook events (delivered, open, click,
bounce, spamreport, unsubscribe) and, in the hub's own normalized form, replies and out-of-office
auto-replies (SendGrid has no reply event; inbound parse is a separate product). ``flush_due``
publishes what is due by ``now()``; ``start`` runs it in the background. Time and randomness are
injected, so a seeded ``random.Random`` and a fake clock make every payload reproducible.
Pending events live in memory only: a restarted sandbox forgets them, as a demo may.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from agents.sender.email import NowFn, OutgoingEmail, SendReceipt, stable_token
from agents.sender.exceptions import SendFailed
from streams.contracts.models.base import Frozen

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Publish = Callable[[Payload | list[Payload]], Awaitable[None]]
Delay = tuple[float, float]  # uniform (min, max) seconds of hub time

# Idempotency keys kept to answer a resend with the same receipt. Only the time each was
# accepted is kept (the message id derives from the key): a whole receipt per send was ~600
# bytes, and a worker on this provider grew by that per email until the bound.
_MAX_REMEMBERED = 100_000


class SandboxRates(Frozen):
    """Bounce is per send; the rest are per delivered message. Every click comes with an open,
    so ``click`` may not exceed ``open``."""

    open: float = Field(default=0.45, ge=0, le=1)
    click: float = Field(default=0.10, ge=0, le=1)
    reply: float = Field(default=0.08, ge=0, le=1)
    auto_reply: float = Field(default=0.03, ge=0, le=1)
    bounce: float = Field(default=0.03, ge=0, le=1)
    hard_bounce_share: float = Field(default=2 / 3, ge=0, le=1)
    complaint: float = Field(default=0.002, ge=0, le=1)
    unsubscribe: float = Field(default=0.01, ge=0, le=1)
    # Webhooks arrive at least once: some events are delivered a second time, later.
    duplicate: float = Field(default=0.01, ge=0, le=1)
    transient_failure: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _click_within_open(self) -> SandboxRates:
        if self.click > self.open:
            raise ValueError("click rate cannot exceed open rate (a click implies an open)")
        return self


class SandboxDelays(Frozen):
    deliver: Delay = (1.0, 20.0)
    bounce: Delay = (1.0, 120.0)
    open: Delay = (300.0, 86_400.0)
    click_after_open: Delay = (5.0, 600.0)
    reply: Delay = (600.0, 172_800.0)
    auto_reply: Delay = (10.0, 300.0)
    complaint: Delay = (600.0, 86_400.0)
    unsubscribe: Delay = (300.0, 86_400.0)
    duplicate: Delay = (30.0, 3_600.0)


class SandboxSettings(Frozen):
    rates: SandboxRates = SandboxRates()
    delays: SandboxDelays = SandboxDelays()
    batch_size: int = Field(default=100, ge=1)  # SendGrid posts events in arrays
    poll_interval: float = Field(default=0.5, gt=0)  # wall seconds between background flushes


_Kind = Literal["sendgrid", "hub"]
_BOUNCES = {
    True: {
        "type": "bounce",
        "status": "5.1.1",
        "bounce_classification": "Invalid Address",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist",
    },
    False: {
        "type": "blocked",
        "status": "4.2.2",
        "bounce_classification": "Mailbox Unavailable",
        "reason": "452 4.2.2 The email account that you tried to reach is over quota",
    },
}


class SandboxProvider:
    name = "sandbox"

    def __init__(
        self,
        publish: Publish,
        now: NowFn,
        rng: random.Random,
        settings: SandboxSettings | None = None,
    ) -> None:
        self.settings = settings or SandboxSettings()
        self._publish = publish
        self._now = now
        self._rng = rng
        self._heap: list[tuple[datetime, int, _Kind, Payload]] = []
        self._seq = 0
        self._accepted: OrderedDict[str, datetime] = OrderedDict()  # idempotency key -> at
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._heap)

    async def send(self, message: OutgoingEmail) -> SendReceipt:
        known = self._accepted.get(message.idempotency_key)
        if known is not None:
            # A resend is the same message: same receipt, no second set of events.
            return self._receipt(message, known)
        if self._rng.random() < self.settings.rates.transient_failure:
            raise SendFailed(
                "sandbox 421: simulated try-again-later",
                provider=self.name,
                transient=True,
                code=421,
            )
        receipt = self._receipt(message, self._now())
        self._accepted[message.idempotency_key] = receipt.accepted_at
        if len(self._accepted) > _MAX_REMEMBERED:
            self._accepted.popitem(last=False)
        for due, kind, payload in self._plan(message, receipt):
            self._push(due, kind, payload)
        return receipt

    def _receipt(self, message: OutgoingEmail, accepted_at: datetime) -> SendReceipt:
        return SendReceipt(
            provider=self.name,
            provider_message_id=stable_token(self.name, message.idempotency_key),
            accepted_at=accepted_at,
        )

    def _delay(self, bounds: Delay) -> timedelta:
        return timedelta(seconds=self._rng.uniform(*bounds))

    def _plan(
        self, message: OutgoingEmail, receipt: SendReceipt
    ) -> list[tuple[datetime, _Kind, Payload]]:
        rates, delays, rng = self.settings.rates, self.settings.delays, self._rng
        events = _Events(message, receipt)
        if rng.random() < rates.bounce:
            hard = rng.random() < rates.hard_bounce_share
            at = receipt.accepted_at + self._delay(delays.bounce)
            events.sendgrid("bounce", at, **_BOUNCES[hard])
        else:
            delivered = receipt.accepted_at + self._delay(delays.deliver)
            events.sendgrid("delivered", delivered, response="250 2.0.0 OK", tls=1)
            if rng.random() < rates.open:
                opened = delivered + self._delay(delays.open)
                events.sendgrid("open", opened, sg_machine_open=False, **_agent(rng))
                if rng.random() < rates.click / rates.open:
                    url = message.calendar_link or "https://sandbox.invalid/read-more"
                    events.sendgrid(
                        "click",
                        opened + self._delay(delays.click_after_open),
                        url=url,
                        url_offset={"index": 0, "type": "html"},
                        **_agent(rng),
                    )
            if rng.random() < rates.reply:
                events.hub("replied", delivered + self._delay(delays.reply))
            if rng.random() < rates.auto_reply:
                events.hub("auto_replied", delivered + self._delay(delays.auto_reply))
            if rng.random() < rates.complaint:
                events.sendgrid("spamreport", delivered + self._delay(delays.complaint))
            if rng.random() < rates.unsubscribe:
                events.sendgrid("unsubscribe", delivered + self._delay(delays.unsubscribe))
        planned = list(events.items)
        for due, kind, payload in events.items:
            if rng.random() < rates.duplicate:
                planned.append((due + self._delay(delays.duplicate), kind, payload))
        return planned

    def _push(self, due: datetime, kind: _Kind, payload: Payload) -> None:
        self._seq += 1  # tie-breaker: equal times keep plan order, payloads are never compared
        heapq.heappush(self._heap, (due, self._seq, kind, payload))

    async def flush_due(self) -> int:
        """Publish every event due by ``now()`` in time order; returns how many were published.

        SendGrid events go out as arrays of at most ``batch_size`` (as its webhook posts them),
        hub-form events one by one. If ``publish`` fails, the unpublished rest stays pending.
        """
        now = self._now()
        due: list[tuple[datetime, int, _Kind, Payload]] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(heapq.heappop(self._heap))
        published = 0
        try:
            while published < len(due):
                kind = due[published][2]
                if kind == "hub":
                    await self._publish(due[published][3])
                    published += 1
                    continue
                batch: list[Payload] = []
                i = published
                while (
                    i < len(due)
                    and due[i][2] == "sendgrid"
                    and len(batch) < self.settings.batch_size
                ):
                    batch.append(due[i][3])
                    i += 1
                await self._publish(batch)
                published = i
        finally:
            for entry in due[published:]:
                heapq.heappush(self._heap, entry)
        return published

    def start(self) -> None:
        """Flush in the background every ``poll_interval`` wall seconds."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            try:
                await self.flush_due()
            except Exception:  # keep simulating; the events stay pending for the next pass
                log.exception("sandbox provider could not publish due events")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _agent(rng: random.Random) -> dict[str, str]:
    return {
        "ip": f"203.0.113.{rng.randint(1, 254)}",  # TEST-NET-3: never a real client
        "useragent": "Mozilla/5.0 (sandbox)",
    }


class _Events:
    """Builds one message's payloads; event ids derive from the message, so they are stable."""

    def __init__(self, message: OutgoingEmail, receipt: SendReceipt) -> None:
        self.message = message
        self.receipt = receipt
        self.items: list[tuple[datetime, _Kind, Payload]] = []

    def _event_id(self, kind: str) -> str:
        return stable_token(self.receipt.provider_message_id, kind, str(len(self.items)))

    def sendgrid(self, event: str, at: datetime, **fields: Any) -> None:
        pmid = self.receipt.provider_message_id
        payload: Payload = {
            "email": self.message.to_email,
            "timestamp": int(at.timestamp()),
            "smtp-id": f"<{pmid}@sandbox>",
            "event": event,
            "category": ["outreach-hub"],
            "sg_event_id": self._event_id(event),
            # SendGrid's form: the X-Message-Id, then a dot and its filter suffix.
            "sg_message_id": f"{pmid}.sandbox0001.{self.message.touch_index}.0",
            **fields,
            **self.message.all_custom_args(),  # SendGrid puts custom args at the top level
        }
        self.items.append((at, "sendgrid", payload))

    def hub(self, kind: Literal["replied", "auto_replied"], at: datetime) -> None:
        payload: Payload = {
            "provider": "sandbox",
            "provider_event_id": self._event_id(kind),
            "type": kind,
            "provider_message_id": self.receipt.provider_message_id,
            "occurred_at": at.isoformat(),
            "aggregate_id": self.message.aggregate_id,
            "idempotency_key": self.message.idempotency_key,
        }
        self.items.append((at, "hub", payload))
