"""What every email-provider adapter takes and gives back.

An adapter is I/O at the edge: the sender's shell turns a ``TouchRequested`` plus rendered
content into an ``OutgoingEmail``, calls ``send`` and records the ``SendReceipt`` (or the
``SendFailed``). Adapters never decide whether to send.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from streams.contracts.models.base import AwareDatetime, Frozen

# Header-bound values: no CR/LF (header injection), ASCII addresses (IDN domains are punycoded
# upstream; SMTPUTF8 is not assumed of every relay).
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]{2,}$")
_ARG_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")  # lower case: header names ignore case
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Keeps `List-Unsubscribe` on one line under the 998-octet limit, so it is never folded or
# encoded (RFC 2047 encoded-words would break the URI for mailbox providers).
_MAX_URI = 800

RESERVED_ARGS = ("aggregate_id", "idempotency_key", "touch_index")

NowFn = Callable[[], datetime]


def _no_newlines(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain line breaks")
    return value


class OutgoingEmail(Frozen):
    """One rendered email, ready for any provider."""

    to_email: str = Field(max_length=254)
    from_email: str = Field(max_length=254)
    from_name: str | None = Field(default=None, max_length=200)
    subject: str = Field(min_length=1, max_length=500)
    text_body: str = Field(min_length=1)
    html_body: str | None = None
    aggregate_id: str = Field(min_length=1, max_length=200)
    idempotency_key: str = Field(min_length=1, max_length=200)
    touch_index: int = Field(ge=1)
    unsubscribe_url: str = Field(max_length=_MAX_URI)
    unsubscribe_mailto: str | None = Field(default=None, max_length=150)
    calendar_link: str | None = None
    custom_args: dict[str, str] = Field(default_factory=dict)

    @field_validator("to_email", "from_email")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError("not a plain ASCII e-mail address")
        return value

    @field_validator("from_name", "subject", "aggregate_id", "idempotency_key")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        return None if value is None else _no_newlines(value)

    @field_validator("unsubscribe_url")
    @classmethod
    def _one_click_url(cls, value: str) -> str:
        # RFC 8058 requires HTTPS for one-click; plain http only for the local demo's loopback.
        parts = urlsplit(_no_newlines(value))
        if not parts.netloc or " " in value or ">" in value or "," in value:
            raise ValueError("must be an absolute URL without spaces, '>' or ','")
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise ValueError("must be an https URL (RFC 8058)")
        return value

    @field_validator("unsubscribe_mailto")
    @classmethod
    def _mailto(cls, value: str | None) -> str | None:
        if value is None:
            return None
        uri = value if value.startswith("mailto:") else f"mailto:{value}"
        address = uri.removeprefix("mailto:").split("?", 1)[0]
        if not _ADDRESS.match(address) or " " in uri or ">" in uri or "," in uri:
            raise ValueError("must be an address or a mailto: URI")
        return _no_newlines(uri)

    @field_validator("custom_args")
    @classmethod
    def _args(cls, value: dict[str, str]) -> dict[str, str]:
        for key, arg in value.items():
            if not _ARG_KEY.match(key) or key in RESERVED_ARGS:
                raise ValueError(f"custom arg name {key!r} is invalid or reserved")
            _no_newlines(arg)
        return value

    def all_custom_args(self) -> dict[str, str]:
        """Caller's args plus the hub's own; every provider event echoes these back."""
        return {
            **self.custom_args,
            "aggregate_id": self.aggregate_id,
            "idempotency_key": self.idempotency_key,
            "touch_index": str(self.touch_index),
        }

    def list_unsubscribe_headers(self) -> dict[str, str]:
        """RFC 2369 + RFC 8058 one-click headers; on every email (Google/Yahoo 2024 rules)."""
        uris = [f"<{self.unsubscribe_url}>"]
        if self.unsubscribe_mailto:
            uris.append(f"<{self.unsubscribe_mailto}>")
        return {
            "List-Unsubscribe": ", ".join(uris),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }


class SendReceipt(Frozen):
    provider: str
    provider_message_id: str = Field(min_length=1)
    accepted_at: AwareDatetime


@runtime_checkable
class ProviderAdapter(Protocol):
    name: str

    async def send(self, message: OutgoingEmail) -> SendReceipt: ...

    async def close(self) -> None: ...


def stable_token(*parts: str, length: int = 22) -> str:
    """A URL-safe token derived from its inputs: a resend after a crash yields the same id."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def message_id_for(message: OutgoingEmail, domain: str | None = None) -> str:
    """Deterministic RFC 5322 Message-ID (with angle brackets) from the idempotency key."""
    host = domain or message.from_email.rsplit("@", 1)[1]
    local = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
    return f"<{local}.outreach@{host}>"


def args_as_headers(args: Mapping[str, str]) -> dict[str, str]:
    """Custom args in SMTP form: ``aggregate_id`` -> ``X-Outreach-Aggregate-Id``."""
    return {
        "X-Outreach-" + "-".join(p.capitalize() for p in key.split("_")): value
        for key, value in args.items()
    }
