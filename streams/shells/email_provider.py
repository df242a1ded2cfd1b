"""The sender's email provider: the configured adapter, and its retries of transient failures."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from faust.exceptions import NotReady

from agents.engagement.ingress.keys import records
from agents.sender.core import SendEmail
from agents.sender.email import ProviderAdapter, SendReceipt
from agents.sender.exceptions import SendFailed
from streams.adapters.email import build_adapter
from streams.adapters.email.sandbox import SandboxRates, SandboxSettings
from streams.adapters.email.sendgrid import SendGridSettings
from streams.adapters.email.smtp import SmtpSettings
from streams.contracts import codec
from streams.kernel import metrics
from streams.kernel.hub import Hub

log = logging.getLogger(__name__)



def adapter_for(hub: Hub) -> ProviderAdapter:
    s = hub.settings

    async def publish(payload: Any) -> None:
        # The sandbox plays the provider: its webhooks arrive where real ones would, keyed as
        # the hub's ingress keys a verified body (by its person: decided on arrival), not
        # counted in events_emitted_total.
        body = codec.dumps(payload)
        topic = hub.topic("provider_events")
        try:
            for key, value in records("sendgrid" if isinstance(payload, list) else "hub",
                                      body, codec.loads(body)):
                await topic.send(key=key, value=value)
        except NotReady:  # the worker is stopping: simulated webhooks still due are dropped
            log.info("sandbox provider: worker stopping, a simulated webhook was not delivered")

    return build_adapter(
        s.email_provider, now=hub.clock.now, publish=publish,
        rng=random.Random(s.sandbox_seed),
        sandbox=None if s.sandbox_engagement else SandboxSettings(rates=SandboxRates(
            open=0, click=0, reply=0, auto_reply=0, bounce=0, complaint=0, unsubscribe=0,
            duplicate=0)),
        smtp=SmtpSettings(host=s.smtp_host, port=s.smtp_port, username=s.smtp_username,
                          password=s.smtp_password, start_tls=s.smtp_start_tls),
        sendgrid=(SendGridSettings(api_key=s.sendgrid_api_key, base_url=s.sendgrid_base_url)
                  if s.sendgrid_api_key else None),
    )


async def send_with_retry(adapter: ProviderAdapter, effect: SendEmail, attempts: int
                          ) -> tuple[SendReceipt | None, str | None]:
    """The receipt, or why the send failed for good. Transient failures back off and retry
    the same message (same idempotency key, so the provider sees one message)."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return await timed_send(adapter, effect), None
        except SendFailed as exc:
            if not exc.transient or attempt == attempts:
                return None, f"{'transient, gave up' if exc.transient else 'permanent'}: {exc}"
            log.warning("send attempt %d failed (transient); retrying", attempt)
            await asyncio.sleep(min(exc.retry_after or delay, 30.0))
            delay = min(delay * 2, 30.0)
    return None, "no attempt made"


async def timed_send(adapter: ProviderAdapter, effect: SendEmail) -> SendReceipt:
    """One provider call, its duration observed by outcome (the backoff is not in it)."""
    started, outcome = time.perf_counter(), "error"
    try:
        receipt = await adapter.send(effect.email)
        outcome = "sent"
        return receipt
    except SendFailed as exc:
        outcome = "transient" if exc.transient else "permanent"
        raise
    finally:
        metrics.SEND_SECONDS.labels(provider=adapter.name, outcome=outcome).observe(
            time.perf_counter() - started)
