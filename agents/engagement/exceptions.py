"""Why a webhook body cannot be normalized, and the checked field access that says so.

Messages name fields (``[2].sg_event_id``, ``Message.bounce.bounceType``), never their values:
a webhook body is full of email addresses (recipients, senders, even Message-IDs look like
addresses), and these messages end up in logs and on the dead-letter topic's reason field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.contracts.exceptions import InvalidInput


class UnrecognisedWebhook(InvalidInput):
    """The body is not the webhook of any provider the hub reads (or not the one named)."""


class NotAnEvent(UnrecognisedWebhook):
    """A provider's well-formed message that carries no event (an SNS subscription handshake)."""


class MalformedWebhook(InvalidInput):
    """The body has a provider's shape but a field is missing or of the wrong kind."""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass(frozen=True, slots=True)
class Fields:
    """A JSON object read on behalf of one provider, at one place in the body (for messages)."""

    provider: str
    path: str
    doc: Mapping[str, Any]

    @classmethod
    def of(cls, value: Any, provider: str, path: str) -> Fields:
        if not isinstance(value, dict):
            where = path or "body"
            raise MalformedWebhook(f"{provider}: {where} is not a JSON object")
        return cls(provider, path, value)

    def error(self, key: str, problem: str) -> MalformedWebhook:
        return MalformedWebhook(f"{self.provider}: {_join(self.path, key)} {problem}")

    def has(self, key: str) -> bool:
        return self.doc.get(key) is not None

    def obj(self, key: str) -> Fields:
        if not self.has(key):
            raise self.error(key, "is missing")
        return Fields.of(self.doc[key], self.provider, _join(self.path, key))

    def opt_obj(self, key: str) -> Fields | None:
        return self.obj(key) if self.has(key) else None

    def text(self, key: str) -> str:
        value = self.opt_text(key)
        if value is None:
            raise self.error(key, "is missing")
        return value

    def opt_text(self, key: str) -> str | None:
        """A non-empty string, or None when absent / null / empty."""
        value = self.doc.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(key, "is not a string")
        return value

    def ident(self, key: str) -> str:
        """An id that some providers send as a number (Postmark's bounce ``ID``)."""
        value = self.doc.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key)

    def flag(self, key: str) -> bool:
        value = self.doc.get(key)
        if not isinstance(value, bool):
            raise self.error(key, "is missing or not true/false")
        return value

    def unix_time(self, key: str) -> datetime:
        """Seconds since the epoch (int or float) as an aware UTC datetime."""
        value = self.doc.get(key)
        if value is None:
            raise self.error(key, "is missing")
        # bool is an int to Python, but `true` is never a timestamp.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, "is not a number of seconds since 1970")
        if not math.isfinite(value) or value < 0:
            raise self.error(key, "is not a time after 1970")
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise self.error(key, "is out of range for a time") from None

    def iso_time(self, key: str) -> datetime:
        """An ISO-8601 timestamp that carries its offset, converted to UTC."""
        raw = self.text(key)
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise self.error(key, "is not an ISO-8601 timestamp") from None
        if parsed.tzinfo is None:
            # A naive time could be any zone; guessing would shift events by hours.
            raise self.error(key, "has no time zone offset")
        return parsed.astimezone(UTC)


def custom_arg(args: Fields | None, key: str, *, first_of_list: bool = False) -> str | None:
    """A custom argument (aggregate_id, idempotency_key) the sender attached to the message.

    ``first_of_list`` reads SES tags, whose values are lists of strings.
    """
    if args is None or not args.has(key):
        return None
    value = args.doc[key]
    if first_of_list:
        if not isinstance(value, list) or not value:
            raise args.error(key, "is not a non-empty list of strings")
        value = value[0]
    if not isinstance(value, str):
        raise args.error(key, "is not a string")
    return value or None
