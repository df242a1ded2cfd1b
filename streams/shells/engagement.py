"""Engagement shell: provider webhooks -> normalized, routed to the person -> records, signals."""

from __future__ import annotations

import logging
from typing import Any

from agents.engagement.core import (
    EngagementState,
    contact_key_of,
    decide_event,
    expire_pending,
    on_send,
    overdue,
)
from agents.engagement.exceptions import MalformedWebhook
from agents.engagement.normalize import normalize
from agents.engagement.placement import MessageState, decide_placement, late, placement_for
from agents.engagement.rate import RateState, label_of, rate, rate_of
from streams.contracts import codec
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
from streams.kernel.hub import Hub
from streams.kernel.loop import decide_in_batch, route_in_batch
from streams.kernel.ownership import owned_entries

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    routed = hub.catalog["engagement_routed"]
    people = hub.app.Table("engagement-people", partitions=routed.partitions)
    sends = hub.catalog["send_events"].name
    checks = hub.catalog["engagement_checks"].name
    channel = hub.app.topic(
        routed.name, sends, checks, key_serializer="raw", value_serializer="raw"
    )
    wait = hub.settings.engagement_placement_wait_seconds
    calendar_secret = hub.settings.calendar_secret.get_secret_value().encode()
    rates = RateState()

    def observe(event: SendRecorded | EngagementRecorded) -> None:
        nonlocal rates
        before, rates = rates, rate(rates, event)
        label = label_of(event.campaign_id, event.aggregate_id)
        value = rate_of(rates, label)
        if rates is not before and value is not None:
            metrics.ENGAGEMENT_RATE.labels(campaign=label).set(value)

    def route(event: Any) -> list[Emit]:
        # Webhooks arrive keyed by anything: place each event with its person first.
        normalized = normalize(event.value)
        if any(e.aggregate_id is None and not e.provider_message_id for e in normalized):
            raise MalformedWebhook(
                "an event carries neither an aggregate_id custom argument nor "
                "a provider message id: it cannot be placed"
            )
        emits = []
        for item in normalized:
            if item.aggregate_id is None:
                assert item.provider_message_id is not None
                placement = MessagePlacement(
                    provider_message_id=item.provider_message_id,
                    event=item,
                    issued_at=hub.clock.now(),
                )
                emits.append(Emit("engagement_placement", item.provider_message_id, placement))
                continue
            key = contact_key_of(item.aggregate_id)
            emits.append(
                Emit("engagement_routed", key, item.model_copy(update={"contact_key": key}))
            )
        return emits

    def decide_one(event: Any, latest: Any) -> Any:
        now = hub.clock.now()
        doc = codec.loads(event.value)
        is_send = event.message.topic == sends
        if event.message.topic == checks:
            check = PendingSignalsCheckDue.model_validate(doc)
            state = latest(check.contact_key) or EngagementState.model_validate(
                people.get(check.contact_key) or {}
            )
            return (
                check.contact_key,
                state,
                expire_pending(state, check.contact_key, now, STABLE_IDS, wait),
            )
        if is_send:
            sent = SendRecorded.model_validate(doc)
            key = sent.contact_key
        else:
            item = ProviderEventNormalized.model_validate(doc)
            key = contact_key_of(item.aggregate_id or "")
        state = latest(key) or EngagementState.model_validate(people.get(key) or {})
        if is_send:
            decision = on_send(state, sent, STABLE_IDS)
            placed = placement_for(sent)
            if placed is not None:
                decision = Decision(decision.state, (*decision.emits, placed), decision.effects)
        else:
            decision = decide_event(state, item, now, STABLE_IDS, calendar_secret)
        if is_send:
            observe(sent)
        for emit in decision.emits:
            if isinstance(emit.event, EngagementRecorded):
                observe(emit.event)
        return key, state, decision

    def store(key: str, before: Any, decision: Any) -> None:
        if decision.state is not before:
            people[key] = decision.state.model_dump(mode="json")

    @hub.app.timer(max(1.0, min(60.0, wait / 10)))
    async def check_held_signals() -> None:
        # Every worker, only for partitions it owns; the check is idempotent in the core.
        now = hub.clock.now()
        async for key, raw in owned_entries(hub.app, people, routed, "pending"):
            if overdue(EngagementState.model_validate(raw), now, wait):
                await hub.topic("engagement_checks").send(
                    key=key.encode(),
                    value=codec.dumps(PendingSignalsCheckDue(contact_key=key, issued_at=now)),
                )

    placements = hub.catalog["engagement_placement"]
    messages = hub.app.Table("engagement-messages", partitions=placements.partitions)

    def place_one(event: Any, latest: Any) -> Any:
        item = MessagePlacement.model_validate(codec.loads(event.value))
        key = item.provider_message_id
        state = latest(key) or MessageState.model_validate(messages.get(key) or {})
        return key, state, decide_placement(state, item, hub.clock.now(), STABLE_IDS, wait)

    def store_placement(key: str, before: Any, decision: Any) -> None:
        if decision.state is not before:
            messages[key] = decision.state.model_dump(mode="json")

    @hub.app.agent(hub.topic("engagement_placement"), name="engagement-placement")
    async def placement(stream: Any) -> None:
        async for events in stream.take_events(500, within=0.02):
            await decide_in_batch(hub, "engagement", list(events), place_one, store_placement)

    @hub.app.timer(max(1.0, min(60.0, wait / 10)))
    async def expire_unplaced() -> None:
        now = hub.clock.now()
        async for key, raw in owned_entries(hub.app, messages, placements, "waiting"):
            if late(MessageState.model_validate(raw), now, wait):
                await hub.topic("engagement_placement").send(
                    key=key.encode(),
                    value=codec.dumps(MessagePlacement(provider_message_id=key, issued_at=now)),
                )

    @hub.app.agent(hub.topic("provider_events"), name="engagement-router")
    async def router(stream: Any) -> None:
        # Acknowledged before the webhooks are: a lost unsubscribe must not be possible.
        async for events in stream.take_events(500, within=0.02):
            await route_in_batch(hub, "engagement", list(events), route)

    @hub.app.agent(channel, name="engagement")
    async def engagement(stream: Any) -> None:
        async for events in stream.take_events(500, within=0.02):
            await decide_in_batch(hub, "engagement", list(events), decide_one, store)
