"""Where a provider webhook's events go first: to their person, or to be placed (pure)."""

from __future__ import annotations

from datetime import datetime

from agents.engagement.core import contact_key_of
from agents.engagement.exceptions import MalformedWebhook
from agents.engagement.normalize import normalize
from streams.contracts.decision import Emit
from streams.contracts.models import MessagePlacement


def route_webhook(raw: bytes, now: datetime) -> list[Emit]:
    """Webhooks arrive keyed by anything: each event is re-keyed by its person, or, when it
    names only the provider's message id, sent to be placed with that message's person."""
    normalized = normalize(raw)
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
                provider_message_id=item.provider_message_id, event=item, issued_at=now)
            emits.append(Emit("engagement_placement", item.provider_message_id, placement))
            continue
        key = contact_key_of(item.aggregate_id)
        emits.append(Emit("engagement_routed", key, item.model_copy(update={"contact_key": key})))
    return emits
