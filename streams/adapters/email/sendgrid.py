"""SendGrid v3 adapter: ``POST {base_url}/v3/mail/send`` with a bearer API key (aiohttp).

The API key lives in a ``SecretStr`` and only ever in the Authorization header: no message, log
record or exception built here contains it, the payload, or the recipient.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import orjson
from pydantic import Field, SecretStr

from agents.sender.email import NowFn, OutgoingEmail, SendReceipt, stable_token
from agents.sender.exceptions import SendFailed, scrub
from streams.adapters.email.base import wall_now
from streams.contracts.models.base import Frozen

log = logging.getLogger(__name__)

# 408/429 and every 5xx: SendGrid (or a proxy before it) may accept the same request later.
_TRANSIENT_STATUS = {408, 429}


class SendGridSettings(Frozen):
    api_key: SecretStr
    base_url: str = "https://api.sendgrid.com"
    timeout: float = Field(default=30.0, gt=0)


def build_payload(message: OutgoingEmail) -> dict[str, Any]:
    """The v3 mail/send body. Custom args ride on the personalization, so every Event Webhook
    event for this recipient carries them back as top-level keys."""
    sender: dict[str, str] = {"email": message.from_email}
    if message.from_name:
        sender["name"] = message.from_name
    content = [{"type": "text/plain", "value": message.text_body}]
    if message.html_body:
        content.append({"type": "text/html", "value": message.html_body})
    return {
        "personalizations": [
            {"to": [{"email": message.to_email}], "custom_args": message.all_custom_args()}
        ],
        "from": sender,
        "subject": message.subject,
        "content": content,
        "headers": message.list_unsubscribe_headers(),
    }


def _error_detail(body: bytes) -> str:
    """SendGrid's own ``errors[].message`` text; never the request payload."""
    try:
        data = orjson.loads(body)
        messages = [str(e["message"]) for e in data["errors"] if e.get("message")]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return "no error details"
    return scrub("; ".join(messages)) or "no error details"


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: let the caller's backoff decide


class SendGridAdapter:
    name = "sendgrid"

    def __init__(self, settings: SendGridSettings, now: NowFn = wall_now) -> None:
        self.settings = settings
        self._now = now
        self._session: aiohttp.ClientSession | None = None
        self._url = settings.base_url.rstrip("/") + "/v3/mail/send"

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession binds to the running loop, which the shell owns.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
            )
        return self._session

    async def send(self, message: OutgoingEmail) -> SendReceipt:
        headers = {"Authorization": f"Bearer {self.settings.api_key.get_secret_value()}"}
        try:
            async with self._client().post(
                self._url, json=build_payload(message), headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                body = await response.read()
                message_id = response.headers.get("X-Message-Id")
                retry_after = _retry_after(response.headers)
        except TimeoutError:
            raise SendFailed("sendgrid timed out", provider=self.name, transient=True) from None
        except aiohttp.ClientError as exc:
            # `from None`: aiohttp errors may carry request info (headers) along.
            raise SendFailed(
                f"sendgrid unreachable ({type(exc).__name__})", provider=self.name, transient=True
            ) from None
        if status in (200, 202):
            if not message_id:
                # Accepted all the same: failing now would make the caller send it twice.
                log.warning("sendgrid accepted a message without X-Message-Id; using a stable id")
                message_id = stable_token("sendgrid", message.idempotency_key)
            log.debug("sendgrid accepted message %s", message_id)
            return SendReceipt(
                provider=self.name, provider_message_id=message_id, accepted_at=self._now()
            )
        transient = status in _TRANSIENT_STATUS or status >= 500
        failure = SendFailed(
            f"sendgrid HTTP {status}: {_error_detail(body)}",
            provider=self.name,
            transient=transient,
            code=status,
            retry_after=retry_after,
        )
        log.warning("%s (%s)", failure, "transient" if transient else "permanent")
        raise failure

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
