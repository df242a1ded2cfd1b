"""Engagement shell: provider webhooks -> normalized, decided on the person's partition (routed
there first when they landed elsewhere) -> engagement records, CL signals.

The placements the engagement stage sends (one a send report) go packed, a batch's at once
(agents/engagement/placement_packing.py); the placement stage folds a pack's placements per
message id in order (streams/kernel/packed_items.py).
"""

from __future__ import annotations

from typing import Any

from agents.engagement.core import EngagementState
from agents.engagement.person import (
    EngagementContext,
    PersonInput,
    decide_person,
    held_signals_check,
    key_of,
)
from agents.engagement.placement import MessageState, decide_placement, placement_check
from agents.engagement.placement_packing import (
    PLACEMENT_TOPIC,
    packed_placements,
    placement_id,
)
from agents.engagement.rate import RateState, counted
from agents.engagement.route import route_webhook
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import MessagePlacement, PlacementRecord, ProviderEventNormalized
from streams.kernel.channel import Channel
from streams.kernel.home import home_check
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.packed_items import by_key_at_home, folded_each, guarded
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_owned


def register(hub: Hub) -> None:
    wait = hub.settings.engagement_placement_wait_seconds
    ctx = EngagementContext(STABLE_IDS, hub.settings.calendar_secret.get_secret_value().encode(),
                            wait)
    people: TableStore[EngagementState] = TableStore.of(
        hub, "engagement-people", "engagement_routed", EngagementState)
    messages: TableStore[MessageState] = TableStore.of(
        hub, "engagement-messages", "engagement_placement", MessageState)
    rates = RateState()  # this worker's ENGAGEMENT_RATE fold (agents/engagement/rate.py)

    def decide(item: PersonInput, _event: Any) -> Decided[EngagementState]:
        nonlocal rates
        key = key_of(item)
        state = people.get(key)
        rates, decision = counted(rates, item, decide_person(state, item, hub.clock.now(), ctx))
        return people.decided(key, state, decision)

    home = home_check(hub, "provider_events", "engagement_routed")

    def webhook(raw: bytes, event: Any) -> list[Decided[Any]]:
        """A body's events on their person's partition are decided here (the ingress keys a
        body by its person); the others go the long way round (agents/engagement/route.py)."""
        now = hub.clock.now()
        out = route_webhook(raw, now, home(event))
        def one(state: EngagementState, item: ProviderEventNormalized
                ) -> Decision[EngagementState]:
            nonlocal rates
            rates, decision = counted(rates, item, decide_person(state, item, now, ctx))
            return decision

        return [routed(out.emits, out.counts),
                *people.folded_by_key(out.here, key_of, one)]

    home_of_message = home_check(hub, PLACEMENT_TOPIC, PLACEMENT_TOPIC)

    def place(record: PlacementRecord, event: Any) -> list[Decided[Any]]:
        now = hub.clock.now()
        by_message, out = by_key_at_home(record.placements, lambda p: p.provider_message_id,
                                         home_of_message(event), PLACEMENT_TOPIC)

        def one(state: MessageState, item: MessagePlacement) -> Decision[MessageState]:
            return decide_placement(state, item, now, STABLE_IDS, wait)

        step = guarded(hub, "engagement", event, out, one, lambda p: p.provider_message_id,
                       placement_id)
        return [*folded_each(hub, "engagement", event, by_message,
                             lambda key, mine: messages.folded(key, mine, step), placement_id),
                *out]

    placements = Channel(hub, PLACEMENT_TOPIC)
    Stage(hub, "engagement", placements, place).agent("engagement-placement")
    # Webhooks are acknowledged only once decided or routed: a lost unsubscribe must not be
    # possible. Provider events before send reports: a reply is signalled first (a signal that
    # finds no send yet is held for it, OUT-004).
    inputs = Channel(hub, "provider_events", "engagement_routed", "send_events",
                     "engagement_checks", models={"provider_events": lambda raw: raw},
                     first=("provider_events", "engagement_routed"))
    Stage(hub, "engagement", inputs,
          lambda item, event: webhook(item, event) if inputs.alias_of(event) == "provider_events"
          else decide(item, event),
          packs={PLACEMENT_TOPIC: packed_placements}).agent("engagement")
    tick = max(1.0, min(60.0, wait / 10))
    nudge_owned(hub, "engagement-check-held-signals", tick, people, "engagement_routed",
                "pending", lambda key, state, now: held_signals_check(key, state, now, wait))
    nudge_owned(hub, "engagement-expire-unplaced", tick, messages, "engagement_placement",
                "waiting", lambda key, msg, now: placement_check(key, msg, now, wait))
