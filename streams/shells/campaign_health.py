"""Campaign health shell: sends and engagement -> per-scope windows -> verdicts that changed.

Two agents. The router reads `outreach.send.events` and `outreach.engagement.events` (keyed by
contact) and re-keys what counts onto `outreach.campaign.health-input` by scope (a campaign,
a sending domain: agents/campaigns/health_input.py); the health agent folds each scope's
evidence in its table (one of campaigns, one of sending domains) and emits the verdicts that
changed on `outreach.campaign.health`, keyed by campaign (agents/campaigns/health.py).

The router's observations go packed, a batch's at once (agents/campaigns/health_packing.py);
the health agent folds a pack's observations of each scope in order. An observation of a scope
that is not at home on the record's partition (packed with another partition count than the
broker's) is sent on alone under its scope; one the fold fails on is dead-lettered alone.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from agents.campaigns.health import ScopeHealth, decide, window_tally
from agents.campaigns.health_input import TOPIC, observations, sending_domain_of
from agents.campaigns.health_packing import packed_observations
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CampaignHealthInput,
    CampaignHealthObserved,
    EngagementRecorded,
    SendRecorded,
)
from streams.kernel import metrics
from streams.kernel.channel import Channel
from streams.kernel.home import home_check
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.packed_items import by_key_at_home, folded_each, guarded
from streams.kernel.store import Decided, TableStore

# Campaigns whose rates this worker exports at once: the most recently evaluated ones (a
# gauge's label set must stay bounded; PostgreSQL holds every verdict).
GAUGED_CAMPAIGNS = 500
RATES = ("bounce", "complaint", "engagement")


def register(hub: Hub) -> None:
    policy = hub.settings.health
    domain = sending_domain_of(hub.settings.from_email)
    campaigns: TableStore[ScopeHealth] = TableStore.of(
        hub, "campaign-health", "campaign_health_input", ScopeHealth)
    domains: TableStore[ScopeHealth] = TableStore.of(
        hub, "campaign-health-domains", "campaign_health_input", ScopeHealth)
    gauged: OrderedDict[str, None] = OrderedDict()

    def route(item: SendRecorded | EngagementRecorded, _event: Any) -> Decided[None]:
        return routed(observations(item, domain))

    home_of = home_check(hub, TOPIC, TOPIC)

    def item_id(observation: CampaignHealthObserved) -> str:
        # A report's campaign and domain observations share its observation id.
        return f"{observation.scope}|{observation.observation_id}"

    def fold(record: CampaignHealthInput, event: Any) -> list[Decided[Any]]:
        now = hub.clock.now()
        scopes, out = by_key_at_home(record.observations, lambda o: o.scope, home_of(event),
                                     TOPIC)

        def one(state: ScopeHealth, item: CampaignHealthObserved) -> Decision[ScopeHealth]:
            return decide(state, item, now, policy, STABLE_IDS)

        step = guarded(hub, "campaign-health", event, out, one, lambda o: o.scope, item_id)

        def fold_scope(scope: str, observed: list[CampaignHealthObserved]) -> Decided[Any]:
            kind, _, key = scope.partition(":")
            store = domains if kind == "domain" else campaigns
            decided = store.folded(key, observed, step)
            if decided.decision.state is not decided.before:
                export(kind, key, decided.decision.state, now)
            return decided

        return [*folded_each(hub, "campaign-health", event, scopes, fold_scope, item_id), *out]

    def export(kind: str, key: str, state: ScopeHealth, now: datetime) -> None:
        sends, hard, complaints, opens, replies = window_tally(state, now, policy)
        if not sends:
            return
        values = (hard / sends, complaints / sends, (opens + replies) / sends)
        if kind == "domain":
            for rate, value in zip(RATES, values, strict=True):
                metrics.SENDING_DOMAIN_HEALTH_RATE.labels(domain=key, rate=rate).set(value)
            return
        gauged[key] = None
        gauged.move_to_end(key)
        while len(gauged) > GAUGED_CAMPAIGNS:
            old, _ = gauged.popitem(last=False)
            for rate in RATES:
                metrics.CAMPAIGN_HEALTH_RATE.remove(old, rate)
        for rate, value in zip(RATES, values, strict=True):
            metrics.CAMPAIGN_HEALTH_RATE.labels(campaign=key, rate=rate).set(value)

    # The inputs are acknowledged only once their re-keyed copies are: none is lost.
    inputs = Channel(hub, "send_events", "engagement_events")
    Stage(hub, "campaign-health", inputs, route,
          packs={TOPIC: packed_observations}).agent("campaign-health-router")
    Stage(hub, "campaign-health", Channel(hub, "campaign_health_input"), fold
          ).agent("campaign-health")
