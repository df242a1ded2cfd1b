"""SendGrid Event Webhook: a JSON array of events, batched, delivered at least once.

Mapping (``event`` → type): delivered → delivered, open → opened, click → clicked,
bounce → bounced (``type`` bounce → hard, blocked → soft), dropped → bounced hard,
spamreport → complained, unsubscribe / group_unsubscribe → unsubscribed.

Decisions:
- processed, deferred and group_resubscribe carry no engagement meaning: they are skipped
  (the body yields fewer events), but are still checked like any other element.
- dropped → bounced/hard: SendGrid will not deliver to that address (suppression list or
  invalid), so for the sequence it is a hard bounce, and without it the hub would keep
  scheduling touches that are silently dropped.
- One malformed element (or an unknown ``event``) rejects the whole body: the body then goes
  to the dead-letter topic whole and is replayed whole after a fix, so no event in it is lost
  and none is applied twice; skipping would drop a real event with only a log line to show.
- Custom args arrive as top-level keys: ``aggregate_id`` and ``idempotency_key``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from agents.engagement.exceptions import Fields, MalformedWebhook, custom_arg
from streams.contracts.models.engagement import EngagementType, ProviderEventNormalized

PROVIDER = "sendgrid"

BounceKind = Literal["hard", "soft"]

_TYPES: dict[str, EngagementType | None] = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "bounced",
    "spamreport": "complained",
    "unsubscribe": "unsubscribed",
    "group_unsubscribe": "unsubscribed",
    "processed": None,
    "deferred": None,
    "group_resubscribe": None,
}

# sg_message_id is the X-Message-Id the send API returned, plus a per-recipient suffix added by
# SendGrid's filter / receiving servers (".filter0001...", ".filterdrecv-...", ".recvd-...").
_SUFFIX = re.compile(r"\.(?:filter|recvd-)")


def normalize(doc: Any) -> list[ProviderEventNormalized]:
    if not isinstance(doc, list):
        raise MalformedWebhook(f"{PROVIDER}: body is not a JSON array of events")
    if not doc:
        raise MalformedWebhook(f"{PROVIDER}: body is an empty array: no events")
    events = []
    for index, item in enumerate(doc):
        event = _event(Fields.of(item, PROVIDER, f"[{index}]"))
        if event is not None:
            events.append(event)
    return events


def message_id(sg_message_id: str | None) -> str | None:
    """The send API's X-Message-Id, which is what the sender recorded."""
    if sg_message_id is None:
        return None
    return _SUFFIX.split(sg_message_id, maxsplit=1)[0] or None


def _event(f: Fields) -> ProviderEventNormalized | None:
    name = f.text("event")
    if name not in _TYPES:
        raise f.error("event", f"is not a SendGrid event type ({', '.join(sorted(_TYPES))})")
    # Checked before the skip, so a broken skipped element rejects the body like any other.
    event_id = f.text("sg_event_id")
    occurred_at = f.unix_time("timestamp")
    kind = _TYPES[name]
    if kind is None:
        return None
    return ProviderEventNormalized(
        provider=PROVIDER,
        provider_event_id=event_id,
        type=kind,
        bounce_kind=_bounce_kind(name, f) if kind == "bounced" else None,
        provider_message_id=message_id(f.opt_text("sg_message_id")),
        occurred_at=occurred_at,
        aggregate_id=custom_arg(f, "aggregate_id"),
        idempotency_key=custom_arg(f, "idempotency_key"),
    )


def _bounce_kind(name: str, f: Fields) -> BounceKind:
    if name == "dropped":
        return "hard"
    subtype = f.opt_text("type")
    # Before SendGrid added `type`, every bounce event was a hard bounce. A subtype SendGrid
    # adds later is still a bounce; soft avoids suppressing an address on evidence we can't read.
    if subtype is None or subtype == "bounce":
        return "hard"
    return "soft"
