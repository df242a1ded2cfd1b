"""Engagement shell: provider webhooks -> normalized, routed to the person -> records, signals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from agents.engagement.core import (
    EngagementState,
    contact_key_of,
    decide_event,
    expire_pending,
    on_send,
    overdue,
)
from agents.engagement.placement import MessageState, decide_placement, late, placement_for
from agents.engagement.rate import RateState, label_of, rate, rate_of
from agents.engagement.route import route_webhook
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    EngagementRecorded,
    MessagePlacement,
    PendingSignalsCheckDue,
    ProviderEventNormalized,
    SendRecorded,
)
from streams.kernel import metrics
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_every, owned_states

Item = ProviderEventNormalized | SendRecorded | PendingSignalsCheckDue


def register(hub: Hub) -> None:
    wait = hub.settings.engagement_placement_wait_seconds
    secret = hub.settings.calendar_secret.get_secret_value().encode()
    people: TableStore[EngagementState] = TableStore.of(
        hub, "engagement-people", "engagement_routed", EngagementState)
    messages: TableStore[MessageState] = TableStore.of(
        hub, "engagement-messages", "engagement_placement", MessageState)
    rates = RateState()

    def observe(event: SendRecorded | EngagementRecorded) -> None:
        nonlocal rates
        before, rates = rates, rate(rates, event)
        label = label_of(event.campaign_id, event.aggregate_id)
        value = rate_of(rates, label)
        if rates is not before and value is not None:
            metrics.ENGAGEMENT_RATE.labels(campaign=label).set(value)

    def decide(item: Item, _event: Any) -> Decided[EngagementState]:
        now = hub.clock.now()
        if isinstance(item, PendingSignalsCheckDue):
            state = people.get(item.contact_key)
            decision = expire_pending(state, item.contact_key, now, STABLE_IDS, wait)
            return people.decided(item.contact_key, state, decision)
        if isinstance(item, SendRecorded):
            key, placed = item.contact_key, placement_for(item)
            state = people.get(key)
            decision = on_send(state, item, STABLE_IDS)
            if placed is not None:
                decision = Decision(decision.state, (*decision.emits, placed), decision.effects)
            observe(item)
        else:
            key = contact_key_of(item.aggregate_id or "")
            state = people.get(key)
            decision = decide_event(state, item, now, STABLE_IDS, secret)
        for emit in decision.emits:
            if isinstance(emit.event, EngagementRecorded):
                observe(emit.event)
        return people.decided(key, state, decision)

    def place(item: MessagePlacement, _event: Any) -> Decided[MessageState]:
        key, state = item.provider_message_id, messages.get(item.provider_message_id)
        return messages.decided(key, state, decide_placement(state, item, hub.clock.now(),
                                                             STABLE_IDS, wait))

    async def held_signals(now: datetime) -> AsyncIterator[Emit]:
        async for key, state in owned_states(hub, people, "engagement_routed", "pending"):
            if overdue(state, now, wait):  # the check is idempotent in the core
                yield Emit("engagement_checks", key,
                           PendingSignalsCheckDue(contact_key=key, issued_at=now))

    async def unplaced(now: datetime) -> AsyncIterator[Emit]:
        async for key, msg in owned_states(hub, messages, "engagement_placement", "waiting"):
            if late(msg, now, wait):
                yield Emit("engagement_placement", key,
                           MessagePlacement(provider_message_id=key, issued_at=now))

    # Webhooks are acknowledged only once routed: a lost unsubscribe must not be possible.
    webhooks = Channel(hub, "provider_events", models={"provider_events": lambda raw: raw})
    Stage(hub, "engagement", webhooks, lambda raw, _e: routed(route_webhook(raw, hub.clock.now()))
          ).agent("engagement-router")
    placements = Channel(hub, "engagement_placement")
    Stage(hub, "engagement", placements, place).agent("engagement-placement")
    inputs = Channel(hub, "engagement_routed", "send_events", "engagement_checks")
    Stage(hub, "engagement", inputs, decide).agent("engagement")
    tick = max(1.0, min(60.0, wait / 10))
    nudge_every(hub, "engagement-check-held-signals", tick, held_signals)
    nudge_every(hub, "engagement-expire-unplaced", tick, unplaced)
