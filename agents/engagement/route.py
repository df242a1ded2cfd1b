"""Where a provider webhook's events go: decided where they are, re-keyed to their person, or
sent to be placed (pure).

The hub's own ingress produces a body under its person's contact key (ingress/keys.py), so its
events are already on the partition the person's engagement state lives on, and the stage
decides them there: a reply reaches the sequencer in two hops, not three. An event anywhere
else (a body produced by an outside publisher, under another key or another partitioner) is
re-keyed by its person through `outreach.engagement.routed`; one that names only the
provider's message id is sent to be placed with that message's person.

Whether an event is on its person's partition is the shell's question (`home`): the answer
depends on the partition the record came from and on the topics' partition counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agents.engagement.core import contact_key_of
from agents.engagement.exceptions import MalformedWebhook
from agents.engagement.normalize import normalize
from streams.contracts.decision import Count, Emit
from streams.contracts.models import MessagePlacement, ProviderEventNormalized


@dataclass(frozen=True, slots=True)
class RoutedWebhook:
    """A body's events: those to decide here (on their person's partition, contact key set),
    in body order, and the emits that take the others where they are decided."""

    here: tuple[ProviderEventNormalized, ...]
    emits: tuple[Emit, ...]
    counts: tuple[Count, ...]


def placeable(events: list[ProviderEventNormalized]) -> bool:
    """Every event names its person or at least the provider's message (else the body is a
    dead letter, all of it)."""
    return all(e.aggregate_id is not None or e.provider_message_id for e in events)


def _nowhere(_contact_key: str) -> bool:
    return False


def route_webhook(raw: bytes, now: datetime, home: Callable[[str], bool] = _nowhere
                  ) -> RoutedWebhook:
    """Split a webhook body's events by where each is decided; `home(contact_key)` says
    whether that person's state is on the partition the body came from."""
    normalized = normalize(raw)
    if not placeable(normalized):
        raise MalformedWebhook(
            "an event carries neither an aggregate_id custom argument nor "
            "a provider message id: it cannot be placed"
        )
    here: list[ProviderEventNormalized] = []
    emits: list[Emit] = []
    counts: list[Count] = []
    for item in normalized:
        if item.aggregate_id is None:
            assert item.provider_message_id is not None
            placement = MessagePlacement(
                provider_message_id=item.provider_message_id, event=item, issued_at=now)
            emits.append(Emit("engagement_placement", item.provider_message_id, placement))
            counts.append(Count("provider_events_total", (("path", "placement"),)))
            continue
        key = contact_key_of(item.aggregate_id)
        keyed = item.model_copy(update={"contact_key": key})
        if home(key):
            here.append(keyed)
            counts.append(Count("provider_events_total", (("path", "here"),)))
        else:
            emits.append(Emit("engagement_routed", key, keyed))
            counts.append(Count("provider_events_total", (("path", "rerouted"),)))
    return RoutedWebhook(tuple(here), tuple(emits), tuple(counts))
