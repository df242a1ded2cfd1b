"""Pure normalizers of email-provider webhook bodies into ``ProviderEventNormalized``.

``normalize(body, provider=None)`` reads a raw body (bytes, str, or already-parsed JSON) of
SendGrid, Mailgun, Amazon SES (through SNS), Postmark or the hub's own form, and returns the
events it carries, in body order. ``detect_provider(doc)`` names the provider from the shape.

Decisions that hold for every provider (each module's docstring has its own):
- Provider events with no engagement meaning (SendGrid processed / deferred, Mailgun accepted,
  SES Send / DeliveryDelay, ...) are skipped: the body yields fewer events, possibly none.
  Known-but-skipped is not an error; an event type the module does not know is
  ``MalformedWebhook``, so a provider's new event is seen on the dead-letter topic rather than
  silently dropped.
- A malformed element of a batch rejects the whole body (see ``sendgrid``).
- Duplicates are not removed here: they keep their provider event id (derived ids are stable),
  and the consumer dedupes on it.
- ``occurred_at`` is always an aware UTC datetime.
- Errors name the field and never quote a value from the body (they reach logs and the
  dead-letter reason, and bodies are full of email addresses).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from agents.engagement.exceptions import MalformedWebhook, UnrecognisedWebhook
from agents.engagement.normalize import hub, mailgun, postmark, sendgrid, ses
from streams.contracts.models.engagement import ProviderEventNormalized

__all__ = ["PROVIDERS", "Body", "detect_provider", "normalize", "parse_body"]

Body = bytes | str | dict[str, Any] | list[Any]

PROVIDERS: dict[str, Callable[[Any], list[ProviderEventNormalized]]] = {
    sendgrid.PROVIDER: sendgrid.normalize,
    mailgun.PROVIDER: mailgun.normalize,
    ses.PROVIDER: ses.normalize,
    postmark.PROVIDER: postmark.normalize,
    hub.PROVIDER: hub.normalize,
}

# Key names are repeated in "unrecognised" messages only when they are plain identifiers: a key
# of an arbitrary object can be anything, an email address included.
_PLAIN_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,39}$")


def normalize(body: Body, provider: str | None = None) -> list[ProviderEventNormalized]:
    """The events a webhook body carries; raises UnrecognisedWebhook / MalformedWebhook."""
    doc = parse_body(body)
    name = _provider_name(provider) if provider is not None else _detect(doc)
    return PROVIDERS[name](doc)


def parse_body(body: Body) -> Any:
    """JSON text (bytes or str) parsed; an already-parsed dict or list as it is."""
    if isinstance(body, dict | list):
        return body
    if not isinstance(body, bytes | str):
        raise TypeError(f"a webhook body is bytes, str, dict or list, not {type(body).__name__}")
    if not body.strip():
        raise MalformedWebhook("body is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # Position only: the decoder's own message may quote the text around the error.
        raise MalformedWebhook(
            f"body is not JSON (line {exc.lineno}, column {exc.colno})"
        ) from None


def detect_provider(doc: Body) -> str:
    """The provider whose webhook ``doc`` is, by its shape: a parsed body, or JSON text."""
    return _detect(parse_body(doc))


def _detect(doc: Any) -> str:
    if isinstance(doc, list):
        return _detect_array(doc)
    if isinstance(doc, dict):
        return _detect_object(doc)
    kind = "null" if doc is None else type(doc).__name__
    raise UnrecognisedWebhook(f"body is a JSON {kind}; a webhook body is an object or an array")


def _detect_array(doc: list[Any]) -> str:
    if not doc:
        raise MalformedWebhook("body is an empty array: no events")
    objects = [item for item in doc if isinstance(item, dict)]
    if any("sg_event_id" in item or "sg_message_id" in item for item in objects):
        return sendgrid.PROVIDER
    if any("provider" in item and "provider_event_id" in item for item in objects):
        return hub.PROVIDER
    raise UnrecognisedWebhook(
        "JSON array whose elements have neither sg_event_id (SendGrid) nor "
        "provider + provider_event_id (the hub's normalized form)"
    )


def _detect_object(doc: dict[str, Any]) -> str:
    if "event-data" in doc:
        return mailgun.PROVIDER
    if "Type" in doc and ("TopicArn" in doc or "Message" in doc):
        return ses.PROVIDER
    if "RecordType" in doc:
        return postmark.PROVIDER
    if "provider" in doc and "provider_event_id" in doc:
        return hub.PROVIDER
    if ("notificationType" in doc or "eventType" in doc) and "mail" in doc:
        raise UnrecognisedWebhook(
            "an SES event without its SNS envelope (raw message delivery is on?): the hub "
            "reads the SNS envelope, whose MessageId is the event id"
        )
    if "sg_event_id" in doc:
        raise UnrecognisedWebhook("a single SendGrid event: SendGrid posts a JSON array of them")
    keys = sorted(k for k in doc if isinstance(k, str) and _PLAIN_KEY.match(k))[:10]
    raise UnrecognisedWebhook(
        "JSON object of no known provider: expected event-data (Mailgun), Type + TopicArn / "
        "Message (SES via SNS), RecordType (Postmark) or provider + provider_event_id (hub)"
        + (f"; its keys include {', '.join(keys)}" if keys else "")
    )


def _provider_name(provider: str) -> str:
    name = provider.strip().lower()
    if name not in PROVIDERS:
        raise UnrecognisedWebhook(f"unknown provider name; expected one of {', '.join(PROVIDERS)}")
    return name
