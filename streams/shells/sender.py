"""Sender shell: send requests -> provider adapter -> send events, once per idempotency key."""

from __future__ import annotations

from datetime import timedelta
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
    on_evidence,
    record_result,
)
from agents.sender.inflight import DEFAULT_POLICY, UnknownOutcomePolicy, renudge
from agents.sequencer.definition import DEFAULT_DEFINITIONS_PATH, load_templates
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import EngagementRecorded, SendRecorded, TouchRequested
from streams.contracts.records import describe
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_owned
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
    unresolved = UnknownOutcomePolicy(
        s.send_unresolved_policy or DEFAULT_POLICY.get(adapter.name, "fail"),
        # Wall seconds: evidence arrives in wall time, however fast the hub's clock runs.
        timedelta(seconds=s.send_unresolved_after_s * s.clock_speed))

    @hub.app.task
    async def start_adapter() -> None:
        start = getattr(adapter, "start", None)
        if start is not None:
            start()  # the sandbox's webhook clock

    async def decide(item: TouchRequested | EngagementRecorded | SendRecorded, event: Any
                     ) -> Decided[Any]:
        key, now = item.contact_key or "", hub.clock.now()
        state = people.get(key)
        if isinstance(item, SendRecorded):  # the hub's own record settles an unknown outcome
            return people.decided(key, state, on_evidence(
                state, item.idempotency_key, None, now, STABLE_IDS, provider=adapter.name,
                recorded=True))
        if isinstance(item, EngagementRecorded):
            return people.decided(key, state, on_evidence(
                on_engagement(state, item), item.idempotency_key, item.provider_message_id,
                now, STABLE_IDS, provider=item.provider, recorded=False))
        await campaigns.wait_ready()  # a restarted worker judges no touch on an empty view
        try:
            outcome = decide_request(state, item, cfg, campaigns.refusal(item.campaign_id, now),
                                     now=now, unknown=unresolved)
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
            outcome.marked.state, item, now, STABLE_IDS, receipt=receipt, failure=failure,
            provider=adapter.name))

    # Unresolved touches past the bound (and touches held behind them) come back as records.
    nudge_owned(hub, "sender-unresolved", max(1.0, min(30.0, s.send_unresolved_after_s / 4)),
                people, "send_requests", "in_flight",
                lambda _key, state, now: renudge(state, now, unresolved.after))
    channel = Channel(hub, "send_requests", "engagement_events", "send_events")
    sender = Stage(hub, "sender", channel, decide)
    sender.agent("sender", batch=1)  # one email at a time: nothing decided is held back
