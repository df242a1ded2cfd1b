"""Errors the sender package raises on purpose.

A ``SendFailed`` message is written to logs, dead letters (OUT-003) and the send-events topic, so
it never carries the recipient address, the body or a credential: provider text is scrubbed of
anything that looks like an address before it goes into a message.
"""

from __future__ import annotations

import re

from streams.contracts.exceptions import HubError

_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
_MAX_DETAIL = 300


class SenderError(HubError):
    """Base class of every error of the sender package."""


class SendFailed(SenderError):
    """A provider did not accept a message.

    ``transient``: retry the same message (same idempotency key) with backoff: timeouts, refused
    connections, SMTP 4xx, HTTP 408/429/5xx. Otherwise permanent: SMTP 5xx, HTTP 4xx; retrying
    would fail the same way. ``code`` is the SMTP reply code or HTTP status when there was one;
    ``retry_after`` the provider's hint in seconds, if it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        transient: bool,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.transient = transient
        self.code = code
        self.retry_after = retry_after


class CalendarLinkError(SenderError):
    """A meeting-booking link that came back cannot be trusted."""


class InvalidCalendarSignature(CalendarLinkError):
    """The link is malformed or its signature does not match its sid, oid and exp."""


class CalendarLinkExpired(CalendarLinkError):
    """The link is authentic but its exp has passed."""


def scrub(text: str) -> str:
    """Provider text without e-mail addresses, on one line, bounded in length.

    SMTP servers echo the recipient in their replies (``550 <jane@x>: user unknown``); the
    reason is worth keeping, the address is not.
    """
    one_line = " ".join(_ADDRESS.sub("<redacted>", text).split())
    if len(one_line) > _MAX_DETAIL:
        return one_line[: _MAX_DETAIL - 1] + "…"
    return one_line
