"""Under which key a verified webhook body goes onto ``email-provider.events`` (pure).

The hub puts an ``aggregate_id`` custom argument (``{sequence_id}:{contact_key}``) into every
email; where a body carries it, its records are keyed by the person (the contact key), the
key the engagement stage routes to, so one person's events are on one partition in the order
the provider sent them. A body without it is keyed by nothing, as the topic allows: the
engagement stage places those events by their provider message id.

Decisions:
- Reading is lenient: a body that is the provider's but not well-formed still goes onto the
  topic (under no key), so the engagement stage dead-letters it where an operator sees it,
  rather than the page refusing a signed post the provider would retry for a day.
- A SendGrid batch is split by person: each part is a JSON array of that person's events, in
  batch order, produced under that person's key; events of no known person form one part.
  One malformed element then fails only its own part. A body that is one part is produced as
  received, byte for byte.
"""

from __future__ import annotations

from typing import Any

import orjson

from agents.engagement.core import contact_key_of

Record = tuple[bytes | None, bytes]


def records(provider: str, body: bytes, doc: Any) -> list[Record]:
    """(key, value) pairs to produce for the verified ``body`` (``doc`` is its JSON)."""
    if provider == "sendgrid":
        return _sendgrid(body, doc)
    return [(_key(_aggregate(provider, doc)), body)]


def _key(aggregate_id: str | None) -> bytes | None:
    return contact_key_of(aggregate_id).encode() if aggregate_id else None


def _text(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]  # SES tags: name -> list of values
    return value if isinstance(value, str) and value.strip() else None


def _get(doc: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(name)
    return doc


def _aggregate(provider: str, doc: Any) -> str | None:
    if provider == "mailgun":
        return _text(_get(doc, "event-data", "user-variables", "aggregate_id"))
    if provider == "postmark":
        return _text(_get(doc, "Metadata", "aggregate_id"))
    if provider == "hub":  # the hub's own form (the sandbox provider's replies)
        return _text(_get(doc, "aggregate_id"))
    if provider == "ses":
        try:
            inner = orjson.loads(_get(doc, "Message") or b"")
        except (orjson.JSONDecodeError, TypeError):
            return None
        return _text(_get(inner, "mail", "tags", "aggregate_id"))
    return None


def _sendgrid(body: bytes, doc: Any) -> list[Record]:
    if not isinstance(doc, list):
        return [(None, body)]
    parts: dict[bytes | None, list[Any]] = {}
    for item in doc:
        parts.setdefault(_key(_text(_get(item, "aggregate_id"))), []).append(item)
    if len(parts) <= 1:
        return [(next(iter(parts), None), body)]
    return [(key, orjson.dumps(items)) for key, items in parts.items()]
