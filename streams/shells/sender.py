"""Sender shell: send requests -> provider adapter -> send events, once per idempotency key."""

from __future__ import annotations

from typing import Any

from agents.sender.content import ContentLibrary
from agents.sender.core import (
    SendEmail,
    SenderConfig,
    SenderState,
    record_result,
)
from agents.sender.inflight import renudge
from agents.sender.touch import (
    RefusedOnViews,
    decide_touch,
    on_report,
    refused_at_call,
    unknown_outcome_policy,
)
from agents.sequencer.definition import DEFAULT_DEFINITIONS_PATH, load_templates
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import EngagementRecorded, SendRecorded, TouchRequested
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import OutsideCall, Stage
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
    unresolved = unknown_outcome_policy(adapter.name, s.send_unresolved_policy,
                                        s.send_unresolved_after_s, s.clock_speed)

    @hub.app.task
    async def start_adapter() -> None:
        start = getattr(adapter, "start", None)
        if start is not None:
            start()  # the sandbox's webhook clock

    async def decide(item: TouchRequested | EngagementRecorded | SendRecorded, event: Any
                     ) -> Decided[Any] | OutsideCall:
        key, now = item.contact_key or "", hub.clock.now()
        state = people.get(key)
        if not isinstance(item, TouchRequested):
            return people.decided(key, state, on_report(state, item, now, STABLE_IDS,
                                                        adapter.name))
        await campaigns.wait_ready()  # a restarted worker judges no touch on an empty view
        outcome = decide_touch(state, item, cfg, campaigns.refusal(item.campaign_id, now), now,
                               STABLE_IDS, adapter.name, unresolved)
        if isinstance(outcome, RefusedOnViews) and await campaigns.caught_up():
            # The sequencer requested it on its own view, which this worker's may lag (a
            # campaign or its content approved a moment ago): judge on every campaign event
            # written before. (Rare: a wait of up to one fetch of the view's consumer.)
            outcome = decide_touch(state, item, cfg, campaigns.refusal(item.campaign_id, now),
                                   now, STABLE_IDS, adapter.name, unresolved)
        if isinstance(outcome, RefusedOnViews):
            outcome = outcome.decision
        if not isinstance(outcome, SendEmail):
            return people.decided(key, state, outcome)
        send, marked = outcome, outcome.marked.state

        async def call() -> Decided[Any]:
            refused = refused_at_call(marked, item, campaigns.refusal(
                item.campaign_id, hub.clock.now()), now, STABLE_IDS)
            if refused is not None:
                return people.decided(key, marked, refused)
            receipt, failure = await send_with_retry(adapter, send, s.send_max_attempts)
            return people.decided(key, marked, record_result(
                marked, item, now, STABLE_IDS, receipt=receipt, failure=failure,
                provider=adapter.name))

        # The in-flight marker is in the changelog before the provider is called.
        return OutsideCall(people.decided(key, state, outcome.marked), call)

    # Unresolved touches past the bound (and touches held behind them) come back as records.
    nudge_owned(hub, "sender-unresolved", max(1.0, min(30.0, s.send_unresolved_after_s / 4)),
                people, "send_requests", "in_flight",
                lambda _key, state, now: renudge(state, now, unresolved.after))
    # Engagement signals before touches: a stop or a suppression is known before the next send.
    channel = Channel(hub, "send_requests", "engagement_events", "send_events",
                      first=("engagement_events",))
    # A batch's reports go out with its first touch's in-flight marker; each provider call's
    # result with the next touch's marker, in one broker wait (kernel/loop.py).
    Stage(hub, "sender", channel, decide).agent("sender")
