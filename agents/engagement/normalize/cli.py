"""`outreach-hub events normalize`: a webhook body in, the normalized events out as JSON."""

from __future__ import annotations

from typing import Any

from agents.engagement.normalize import normalize


def run(body: bytes, provider: str | None) -> list[dict[str, Any]]:
    """JSON-able dicts of the events in ``body``; raises UnrecognisedWebhook / MalformedWebhook
    (both ``InvalidInput``, which the CLI reports on stderr with exit status 2)."""
    return [event.model_dump(mode="json") for event in normalize(body, provider)]
