"""Webhook ingress on the worker's port: ``POST /webhooks/{sendgrid,mailgun,ses,postmark}``.

Each page proves the post is its provider's (agents/engagement/ingress/), produces the body to
``email-provider.events`` keyed by the person where the body names one, and answers 200 only
once the broker has every record, so a 200 never loses an event and anything else makes the
provider retry. A refusal (401 unsigned / forged / stale / replayed, 400 not the provider's
shape) produces nothing and logs one line: the provider and the reason, never the body.

Decisions:
- A provider whose key is not set answers 404: the endpoint does not exist for this
  deployment, and nothing is ever accepted unsigned.
- The SNS certificate and SubscribeURL are fetched through ``fetch`` (https, no redirects,
  10 s): injectable, because the tests have no internet. Certificates are kept by URL (SNS
  uses one per region for months). A failed fetch answers 503, so SNS retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from faust.web import View

from agents.engagement.ingress import Refused, SeenIds, mailgun, malformed, postmark, sendgrid, ses
from agents.engagement.ingress.keys import Record, records
from streams.app import Hub
from streams.contracts.exceptions import ConfigurationError
from streams.kernel.settings import Settings

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[bytes]]
Verified = tuple[list[Record], str | None, dict[str, str]]  # records, claimed id, answer
CERTS_KEPT = 16


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could leave the trusted host: it is an error instead


async def fetch_https(url: str) -> bytes:
    def get() -> bytes:
        opener = urllib.request.build_opener(_NoRedirect)
        with opener.open(url, timeout=10) as response:  # https on a checked host (ses.py)
            return bytes(response.read(1_000_000))

    return await asyncio.to_thread(get)


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise malformed("body is not JSON") from None


class Ingress:
    """The verification state of one worker: keys, remembered delivery ids, certificates."""

    def __init__(self, settings: Settings, fetch: Fetch) -> None:
        s = settings
        self.max_age = s.webhook_max_age_seconds
        self.seen = SeenIds(self.max_age)
        self.fetch = fetch
        self.certs: dict[str, bytes] = {}
        self.sendgrid_key = None
        if s.sendgrid_webhook_public_key:
            try:
                self.sendgrid_key = sendgrid.load_key(s.sendgrid_webhook_public_key)
            except ValueError as exc:
                raise ConfigurationError(f"OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY {exc}") from None
        self.mailgun_key = (s.mailgun_signing_key.get_secret_value().encode()
                            if s.mailgun_signing_key else None)
        self.postmark = ((s.postmark_webhook_user, s.postmark_webhook_password.get_secret_value())
                         if s.postmark_webhook_user and s.postmark_webhook_password else None)
        self.topic_arns = ses.parse_list(s.ses_topic_arns)
        self.trusted_hosts = ses.parse_list(s.ses_trusted_cert_hosts)
        self.handlers: dict[str, Callable[[Mapping[str, str], bytes, float],
                                          Awaitable[Verified]]] = {}
        if self.sendgrid_key:
            self.handlers["sendgrid"] = self.sendgrid
        if self.mailgun_key:
            self.handlers["mailgun"] = self.mailgun
        if self.topic_arns:
            self.handlers["ses"] = self.ses
        if self.postmark:
            self.handlers["postmark"] = self.postmark_post

    async def sendgrid(self, headers: Mapping[str, str], body: bytes, now: float) -> Verified:
        assert self.sendgrid_key is not None
        sendgrid.verify(self.sendgrid_key, headers, body, now, self.max_age)
        return records("sendgrid", body, _json(body)), None, {"status": "accepted"}

    async def mailgun(self, headers: Mapping[str, str], body: bytes, now: float) -> Verified:
        assert self.mailgun_key is not None
        doc = _json(body)
        token = mailgun.verify(self.mailgun_key, doc, now, self.max_age, self.seen)
        return records("mailgun", body, doc), f"mailgun:{token}", {"status": "accepted"}

    async def postmark_post(self, headers: Mapping[str, str], body: bytes, now: float
                            ) -> Verified:
        assert self.postmark is not None
        postmark.verify(*self.postmark, headers)
        return records("postmark", body, _json(body)), None, {"status": "accepted"}

    async def ses(self, headers: Mapping[str, str], body: bytes, now: float) -> Verified:
        doc = _json(body)
        url = ses.preflight(doc, self.topic_arns, self.trusted_hosts)
        message = ses.verify(doc, await self._cert(url), now, self.max_age, self.seen)
        claimed = f"ses:{message.message_id}"
        if message.type == ses.SUBSCRIBE:
            assert message.subscribe_url is not None
            try:
                await self.fetch(message.subscribe_url)
            except Exception as exc:
                self.seen.release(claimed)
                raise Refused(503, f"confirming the subscription failed "
                                   f"({type(exc).__name__})") from None
            log.warning("webhook ses: subscription to an accepted topic confirmed")
            return [], claimed, {"status": "subscribed"}
        if message.type == ses.UNSUBSCRIBE:
            log.warning("webhook ses: the topic unsubscribed this endpoint")
            return [], claimed, {"status": "unsubscribed"}
        return records("ses", body, doc), claimed, {"status": "accepted"}

    async def _cert(self, url: str) -> bytes:
        if url not in self.certs:
            try:
                pem = await self.fetch(url)
            except Exception as exc:
                raise Refused(503, f"fetching the signing certificate failed "
                                   f"({type(exc).__name__})") from None
            if b"-----BEGIN CERTIFICATE-----" not in pem:
                return pem  # not kept: verify refuses it, and the next post fetches again
            if len(self.certs) >= CERTS_KEPT:
                self.certs.pop(next(iter(self.certs)))
            self.certs[url] = pem
        return self.certs[url]


def register(hub: Hub, fetch: Fetch = fetch_https) -> None:
    ingress = Ingress(hub.settings, fetch)

    async def receive(view: View, provider: str, request: Any) -> Any:
        handler = ingress.handlers.get(provider)
        if handler is None:
            log.warning("webhook %s: refused (404): no key for it is configured", provider)
            return view.json({"status": "not configured"}, status=404)
        body = await request.read()
        try:
            # Wall time, not the hub's clock: the providers sign with real time.
            produce, claimed, answer = await handler(request.headers, body, time.time())
        except Refused as refused:
            log.warning("webhook %s: refused (%d): %s", provider, refused.status, refused.reason)
            headers = ({"WWW-Authenticate": postmark.CHALLENGE}
                       if provider == "postmark" and refused.status == 401 else None)
            return view.json({"status": "refused"}, status=refused.status, headers=headers)
        except Exception as exc:  # one line, not aiohttp's traceback with the request in it
            log.error("webhook %s: failed (%s); answered 500", provider, type(exc).__name__)
            return view.json({"status": "error"}, status=500)
        try:
            topic = hub.topic("provider_events")
            sent = [await topic.send(key=key, value=value) for key, value in produce]
            await asyncio.gather(*sent)  # answer only once the broker has every record
        except Exception as exc:
            if claimed:
                ingress.seen.release(claimed)  # the provider's retry must get through
            log.error("webhook %s: producing failed (%s); answered 503", provider,
                      type(exc).__name__)
            return view.json({"status": "unavailable"}, status=503)
        return view.json({**answer, "records": len(produce)})

    for name in ("sendgrid", "mailgun", "ses", "postmark"):
        def page(provider: str) -> type[View]:
            async def post(self: View, request: Any) -> Any:
                return await receive(self, provider, request)

            return type(f"{provider.title()}Webhook", (View,), {"post": post})

        hub.app.page(f"/webhooks/{name}")(page(name))
