"""Sender shell: send requests -> provider adapter -> send events, once per idempotency key."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from faust.exceptions import NotReady
from pydantic import ValidationError

from agents.sender.core import (
    IN_FLIGHT_AT_RESTART,
    UNKNOWN_OUTCOME,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
    on_engagement,
    record_result,
)
from agents.sender.email import ProviderAdapter, SendReceipt
from agents.sender.exceptions import SendFailed
from streams.adapters.email import build_adapter
from streams.adapters.email.sandbox import SandboxRates, SandboxSettings
from streams.adapters.email.sendgrid import SendGridSettings
from streams.adapters.email.smtp import SmtpSettings
from streams.contracts import codec
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import EngagementRecorded, TouchRequested
from streams.contracts.records import describe
from streams.kernel.guard import dead_letter_on_error
from streams.kernel.hub import Hub
from streams.kernel.interpreter import carry_out

log = logging.getLogger(__name__)


def adapter_for(hub: Hub) -> ProviderAdapter:
    s = hub.settings

    async def publish(payload: Any) -> None:
        # The sandbox plays the provider: its webhooks arrive where real ones would.
        try:
            await hub.topic("provider_events").send(key=b"sandbox", value=codec.dumps(payload))
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
            return await adapter.send(effect.email), None
        except SendFailed as exc:
            if not exc.transient or attempt == attempts:
                return None, f"{'transient, gave up' if exc.transient else 'permanent'}: {exc}"
            log.warning("send attempt %d failed (transient); retrying", attempt)
            await asyncio.sleep(min(exc.retry_after or delay, 30.0))
            delay = min(delay * 2, 30.0)
    return None, "no attempt made"


def register(hub: Hub) -> None:
    s = hub.settings
    spec = hub.catalog["send_requests"]
    people = hub.app.Table("sender-people", partitions=spec.partitions)
    cfg = SenderConfig(from_email=s.from_email, from_name=s.from_name,
                       public_base_url=s.public_base_url,
                       unsubscribe_secret=s.unsubscribe_secret.get_secret_value().encode(),
                       calendar_secret=s.calendar_secret.get_secret_value().encode())
    adapter = adapter_for(hub)
    requests, engagement = spec.name, hub.catalog["engagement_events"].name
    channel = hub.app.topic(requests, engagement, key_serializer="raw", value_serializer="raw")

    @hub.app.task
    async def start_adapter() -> None:
        start = getattr(adapter, "start", None)
        if start is not None:
            start()  # the sandbox's webhook clock

    async def handle(event: Any) -> None:
        now = hub.clock.now()
        doc = codec.loads(event.value)
        if event.message.topic == engagement:
            item = EngagementRecorded.model_validate(doc)
            state = SenderState.model_validate(people.get(item.contact_key) or {})
            after = on_engagement(state, item)
            if after is not state:
                people[item.contact_key] = after.model_dump(mode="json")
            return
        request = TouchRequested.model_validate(doc)
        key = request.contact_key
        state = SenderState.model_validate(people.get(key) or {})
        try:
            outcome = decide_request(state, request, cfg)
        except ValidationError as exc:  # e.g. an address no provider would accept
            decision = record_result(state, request, now, STABLE_IDS, provider=adapter.name,
                                     failure=f"cannot render the email: {describe(exc)}")
            await carry_out(hub, decision)
            people[key] = decision.state.model_dump(mode="json")
            return
        if isinstance(outcome, Decision):
            await carry_out(hub, outcome)
            return
        if isinstance(outcome, RecordWithoutSending):
            unknown = outcome.provider == IN_FLIGHT_AT_RESTART
            decision = record_result(state, request, now, STABLE_IDS, provider=outcome.provider,
                                     failure=UNKNOWN_OUTCOME if unknown else None)
        else:
            people[key] = state.model_copy(
                update={"in_flight": request.idempotency_key}).model_dump(mode="json")
            await hub.app.producer.flush()  # the marker is durable before the provider call
            receipt, failure = await send_with_retry(adapter, outcome, s.send_max_attempts)
            decision = record_result(state, request, now, STABLE_IDS, receipt=receipt,
                                     failure=failure, provider=adapter.name)
        await carry_out(hub, decision)
        people[key] = decision.state.model_dump(mode="json")

    @hub.app.agent(channel, name="sender")
    async def sender(stream: Any) -> None:
        async for event in stream.events():
            await dead_letter_on_error(hub, "sender", event, handle)
