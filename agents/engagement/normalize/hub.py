"""The hub's own normalized form: one object, or an array of objects, that validate as
``ProviderEventNormalized``.

This is also how replies arrive: an inbound-reply reader (the hub's mailbox or a provider's
inbound parse, done upstream) publishes ``type`` ``replied``, or ``auto_replied`` for an
out-of-office (``Auto-Submitted: auto-replied``, ``X-Autoreply``, ``Precedence: auto_reply``),
which never counts as a reply. ``meeting_booked`` arrives the same way after the signed
calendar link is verified.

Decisions: an element that does not validate rejects the whole body (as for SendGrid);
``occurred_at`` is converted to UTC; an empty array is malformed.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from pydantic import ValidationError

from agents.engagement.exceptions import MalformedWebhook
from streams.contracts.models.engagement import ProviderEventNormalized

PROVIDER = "hub"

# A location part that is not a plain name (an unexpected key can be anything, even an address)
# is not repeated in a message.
_PLAIN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def normalize(doc: Any) -> list[ProviderEventNormalized]:
    items = doc if isinstance(doc, list) else [doc]
    if not items:
        raise MalformedWebhook(f"{PROVIDER}: body is an empty array: no events")
    events = []
    for index, item in enumerate(items):
        where = f"[{index}]" if isinstance(doc, list) else "body"
        if not isinstance(item, dict):
            raise MalformedWebhook(f"{PROVIDER}: {where} is not a JSON object")
        try:
            event = ProviderEventNormalized.model_validate(item)
        except ValidationError as exc:
            # `from None`: pydantic's own text quotes the input values.
            raise MalformedWebhook(f"{PROVIDER}: {where}: {_describe(exc)}") from None
        events.append(event.model_copy(update={"occurred_at": event.occurred_at.astimezone(UTC)}))
    return events


def _describe(exc: ValidationError) -> str:
    """Like contracts.records.describe; unexpected keys that are not plain names are hidden."""
    return "; ".join(
        f"{'.'.join(_loc(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    )


def _loc(part: str | int) -> str:
    text = str(part)
    return text if _PLAIN.match(text) else "<key>"
