"""Sender shell: send requests -> provider adapter -> send events, once per idempotency key."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agents.sender.content import ContentLibrary
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
from agents.sequencer.definition import DEFAULT_DEFINITIONS_PATH, load_templates
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import EngagementRecorded, TouchRequested
from streams.contracts.records import describe
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage
from streams.kernel.store import Decided, TableStore
from streams.shells.email_provider import adapter_for, send_with_retry


def register(hub: Hub) -> None:
    s = hub.settings
    people: TableStore[SenderState] = TableStore.of(hub, "sender-people", "send_requests",
                                                    SenderState)
    content = ContentLibrary.of(load_templates(s.sequences_file or DEFAULT_DEFINITIONS_PATH))
    campaigns = CampaignStatusView.on(hub)
    # The content a touch may carry is what its campaign's approval in force binds.
    cfg = SenderConfig(from_email=s.from_email, from_name=s.from_name,
                       public_base_url=s.public_base_url,
                       unsubscribe_secret=s.unsubscribe_secret.get_secret_value().encode(),
                       calendar_secret=s.calendar_secret.get_secret_value().encode(),
                       content=content, approved_digests=campaigns.approved_digests)
    adapter = adapter_for(hub)

    @hub.app.task
    async def start_adapter() -> None:
        start = getattr(adapter, "start", None)
        if start is not None:
            start()  # the sandbox's webhook clock

    async def decide(item: TouchRequested | EngagementRecorded, event: Any) -> Decided[Any]:
        key, now = item.contact_key or "", hub.clock.now()
        state = people.get(key)
        if isinstance(item, EngagementRecorded):
            return people.decided(key, state, Decision(on_engagement(state, item)))
        await campaigns.wait_ready()  # a restarted worker judges no touch on an empty view
        try:
            outcome = decide_request(state, item, cfg, campaigns.refusal(item.campaign_id, now))
        except ValidationError as exc:  # e.g. an address no provider would accept
            why = f"cannot render the email: {describe(exc)}"
            return people.decided(key, state, record_result(
                state, item, now, STABLE_IDS, provider=adapter.name, failure=why))
        if isinstance(outcome, Decision):
            return people.decided(key, state, outcome)
        if isinstance(outcome, RecordWithoutSending):
            unknown = outcome.provider == IN_FLIGHT_AT_RESTART
            return people.decided(key, state, record_result(
                state, item, now, STABLE_IDS, provider=outcome.provider,
                failure=outcome.failure or (UNKNOWN_OUTCOME if unknown else None)))
        assert isinstance(outcome, SendEmail)
        # The in-flight marker is in the changelog before the provider is called.
        await sender.carry_out_now(event, people.decided(key, state, outcome.marked))
        receipt, failure = await send_with_retry(adapter, outcome, s.send_max_attempts)
        return people.decided(key, outcome.marked.state, record_result(
            state, item, now, STABLE_IDS, receipt=receipt, failure=failure, provider=adapter.name))

    channel = Channel(hub, "send_requests", "engagement_events")
    sender = Stage(hub, "sender", channel, decide)
    sender.agent("sender", batch=1)  # one email at a time: nothing decided is held back
