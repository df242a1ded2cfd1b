"""Health evidence re-keyed by the scope it counts for (pure; the health stage's router).

Send reports and engagement records are keyed by contact; health is per campaign and per
sending domain. Each record that counts becomes one observation keyed `campaign:<id>` (when it
names a campaign) and one keyed `domain:<sending domain>`, on the health stage's own input
topic, so one partition holds all of a scope's evidence.

The sending domain is the domain of the From address: every email the hub sends carries
`OUTREACH_FROM_EMAIL` as its From (agents/sender/core.py `render`), which is what SPF, DKIM,
DMARC and the mailbox providers' reputation are keyed on. A touch's `principal` (`sales-dev`)
names a role whose daily cap the sequencer counts, not an address, so it is no domain.

What counts (as agents/engagement/rate.py counts): a send report with status `sent`, once per
idempotency key (one per touch); an `opened` or `replied` record; a `bounced` record that is
not soft (a bounce of unknown kind is hard, as the sequencer's stop rule reads it); a
`complained` record; each by its event id. Clicks, deliveries, unsubscribes and auto-replies
do not enter the rates.
"""

from __future__ import annotations

from streams.contracts.decision import Emit
from streams.contracts.models.campaign_health import CampaignHealthObserved, ObservationKind
from streams.contracts.models.engagement import EngagementRecorded
from streams.contracts.models.send import SendRecorded

TOPIC = "campaign_health_input"
ENGAGEMENT_KINDS: dict[str, ObservationKind] = {
    "opened": "open", "replied": "reply", "complained": "complaint", "bounced": "hard_bounce"}


def sending_domain_of(from_email: str) -> str:
    return from_email.rsplit("@", 1)[-1].strip().lower() or "unknown"


def observation_of(event: SendRecorded | EngagementRecorded
                   ) -> tuple[str, ObservationKind] | None:
    """(observation id, kind) when `event` counts for health, else None."""
    if isinstance(event, SendRecorded):
        return (f"send:{event.idempotency_key}", "send") if event.status == "sent" else None
    if event.type == "bounced" and event.bounce_kind == "soft":
        return None
    kind = ENGAGEMENT_KINDS.get(event.type)
    return None if kind is None else (f"event:{event.event_id}", kind)


def observations(event: SendRecorded | EngagementRecorded, sending_domain: str
                 ) -> tuple[Emit, ...]:
    """The observations `event` makes, each keyed by its scope (none when it does not count)."""
    found = observation_of(event)
    if found is None:
        return ()
    observation_id, kind = found
    scopes = ([f"campaign:{event.campaign_id}"] if event.campaign_id else [])
    scopes.append(f"domain:{sending_domain}")
    return tuple(
        Emit(TOPIC, scope, CampaignHealthObserved(
            scope=scope, observation_id=observation_id, kind=kind,
            campaign_id=event.campaign_id, sending_domain=sending_domain,
            occurred_at=event.occurred_at, correlation_id=event.correlation_id))
        for scope in scopes)
