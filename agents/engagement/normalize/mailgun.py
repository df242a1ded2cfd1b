"""Mailgun webhooks: ``{"signature": {...}, "event-data": {...}}``, one event per request.

Mapping (``event-data.event`` → type): delivered → delivered, opened → opened, clicked →
clicked, failed → bounced (``severity`` permanent → hard, temporary → soft), complained →
complained, unsubscribed → unsubscribed.

Decisions:
- accepted, rejected and stored carry no engagement meaning (a queued, refused or stored
  message): skipped, the body yields no event.
- The signature is not checked here: verifying it needs the signing key and belongs to the
  HTTP receiver that puts the body on the topic; this module stays pure.
- ``event-data.id`` is the event id (stable across Mailgun's retries of the same event).
- ``message.headers.message-id`` loses its angle brackets: Mailgun's send API returns the id
  as ``<...>`` while the webhook sends it bare; bare is what both sides can agree on.
- Custom args come from ``user-variables`` (``v:aggregate_id``, ``v:idempotency_key``).
"""

from __future__ import annotations

from typing import Any, Literal

from agents.engagement.exceptions import Fields, custom_arg
from streams.contracts.models.engagement import EngagementType, ProviderEventNormalized

PROVIDER = "mailgun"

BounceKind = Literal["hard", "soft"]

_TYPES: dict[str, EngagementType | None] = {
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "failed": "bounced",
    "complained": "complained",
    "unsubscribed": "unsubscribed",
    "accepted": None,
    "rejected": None,
    "stored": None,
}

_SEVERITY: dict[str, BounceKind] = {"permanent": "hard", "temporary": "soft"}


def normalize(doc: Any) -> list[ProviderEventNormalized]:
    data = Fields.of(doc, PROVIDER, "").obj("event-data")
    name = data.text("event")
    if name not in _TYPES:
        raise data.error("event", f"is not a Mailgun event type ({', '.join(sorted(_TYPES))})")
    event_id = data.text("id")
    occurred_at = data.unix_time("timestamp")
    kind = _TYPES[name]
    if kind is None:
        return []
    bounce_kind: BounceKind | None = None
    if kind == "bounced":
        severity = data.text("severity")
        if severity not in _SEVERITY:
            raise data.error("severity", "is neither permanent nor temporary")
        bounce_kind = _SEVERITY[severity]
    return [
        ProviderEventNormalized(
            provider=PROVIDER,
            provider_event_id=event_id,
            type=kind,
            bounce_kind=bounce_kind,
            provider_message_id=_message_id(data),
            occurred_at=occurred_at,
            aggregate_id=custom_arg(data.opt_obj("user-variables"), "aggregate_id"),
            idempotency_key=custom_arg(data.opt_obj("user-variables"), "idempotency_key"),
        )
    ]


def _message_id(data: Fields) -> str | None:
    message = data.opt_obj("message")
    headers = message.opt_obj("headers") if message else None
    raw = headers.opt_text("message-id") if headers else None
    if raw is None:
        return None
    return raw.strip().strip("<>") or None
