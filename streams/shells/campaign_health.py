"""Campaign health shell: sends and engagement -> per-scope windows -> verdicts that changed.

Two agents. The router reads `outreach.send.events` and `outreach.engagement.events` (keyed by
contact) and re-keys what counts onto `outreach.campaign.health-input` by scope (a campaign,
a sending domain: agents/campaigns/health_input.py); the health agent folds each scope's
evidence in its table (one of campaigns, one of sending domains) and emits the verdicts that
changed on `outreach.campaign.health`, keyed by campaign (agents/campaigns/health.py).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from agents.campaigns.health import ScopeHealth, decide, window_tally
from agents.campaigns.health_input import observations, sending_domain_of
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import CampaignHealthObserved, EngagementRecorded, SendRecorded
from streams.kernel import metrics
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
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

    def fold(item: CampaignHealthObserved, _event: Any) -> Decided[ScopeHealth]:
        now = hub.clock.now()
        kind, _, key = item.scope.partition(":")
        store = domains if kind == "domain" else campaigns
        state = store.get(key)
        decision = decide(state, item, now, policy, STABLE_IDS)
        if decision.state is not state:
            export(kind, key, decision.state, now)
        return store.decided(key, state, decision)

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
    Stage(hub, "campaign-health", inputs, route).agent("campaign-health-router")
    Stage(hub, "campaign-health", Channel(hub, "campaign_health_input"), fold
          ).agent("campaign-health")
