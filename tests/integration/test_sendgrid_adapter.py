"""SendGrid adapter against a real local aiohttp server emulating ``POST /v3/mail/send``."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from agents.sender.email import OutgoingEmail
from agents.sender.exceptions import SendFailed
from streams.adapters.email import SendGridAdapter, SendGridSettings, build_adapter

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
API_KEY = "SG.test-key.Zm9vYmFyLXNlY3JldC1rZXk"
TO = "jane.doe@acmeroofing.com"
BODY = "Hi Jane, quick question about your roofing crews."
UNAUTHORIZED = {
    "errors": [
        {
            "message": "The provided authorization grant is invalid, expired, or revoked",
            "field": None,
            "help": None,
        }
    ]
}


def make_email(**overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "to_email": TO,
        "from_email": "alex@outreach.example.com",
        "from_name": "Alex From Hub",
        "subject": "Roof season planning",
        "text_body": BODY,
        "html_body": "<p>Hi Jane</p>",
        "aggregate_id": "seq-roofing:c0ffee",
        "idempotency_key": "seq-roofing:c0ffee:touch-1",
        "touch_index": 1,
        "unsubscribe_url": "https://hub.example.com/u/one-click?t=abc",
        "unsubscribe_mailto": "mailto:unsubscribe@outreach.example.com",
        "custom_args": {"campaign_id": "cmp-42"},
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


@dataclass
class FakeSendGrid:
    """Scripted responses; records every authorized request body."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 202
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    message_id: str | None = "W6A2b2vSRcOz8vmXb8Ke1w"
    delay: float = 0.0

    async def mail_send(self, request: web.Request) -> web.StreamResponse:
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return web.json_response(UNAUTHORIZED, status=401)
        assert request.content_type == "application/json"
        self.requests.append(await request.json())
        if self.status == 202:
            headers = {"X-Message-Id": self.message_id} if self.message_id else {}
            return web.Response(status=202, headers=headers)
        if self.body is None:
            return web.Response(status=self.status, headers=self.headers)
        return web.json_response(self.body, status=self.status, headers=self.headers)


@pytest.fixture
async def sendgrid() -> AsyncIterator[tuple[FakeSendGrid, str]]:
    fake = FakeSendGrid()
    app = web.Application()
    app.router.add_post("/v3/mail/send", fake.mail_send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield fake, f"http://{host}:{port}"
    await runner.cleanup()


@pytest.fixture
async def adapter(sendgrid: tuple[FakeSendGrid, str]) -> AsyncIterator[SendGridAdapter]:
    settings = SendGridSettings(api_key=API_KEY, base_url=sendgrid[1], timeout=5)
    a = SendGridAdapter(settings, now=lambda: NOW)
    yield a
    await a.close()


def assert_nothing_private(exc: SendFailed, caplog: pytest.LogCaptureFixture) -> None:
    for text in (str(exc), repr(exc), caplog.text, *(r.getMessage() for r in caplog.records)):
        assert API_KEY not in text
        assert TO not in text
        assert BODY not in text


async def test_accepted_message_has_v3_shape_and_receipt(
    sendgrid: tuple[FakeSendGrid, str], adapter: SendGridAdapter
) -> None:
    fake, _ = sendgrid
    receipt = await adapter.send(make_email())
    assert receipt.provider == "sendgrid"
    assert receipt.provider_message_id == "W6A2b2vSRcOz8vmXb8Ke1w"
    assert receipt.accepted_at == NOW
    assert fake.requests == [
        {
            "personalizations": [
                {
                    "to": [{"email": TO}],
                    "custom_args": {
                        "campaign_id": "cmp-42",
                        "aggregate_id": "seq-roofing:c0ffee",
                        "idempotency_key": "seq-roofing:c0ffee:touch-1",
                        "touch_index": "1",
                    },
                }
            ],
            "from": {"email": "alex@outreach.example.com", "name": "Alex From Hub"},
            "subject": "Roof season planning",
            "content": [
                {"type": "text/plain", "value": BODY},
                {"type": "text/html", "value": "<p>Hi Jane</p>"},
            ],
            "headers": {
                "List-Unsubscribe": "<https://hub.example.com/u/one-click?t=abc>, "
                "<mailto:unsubscribe@outreach.example.com>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        }
    ]


async def test_text_only_without_name_or_mailto(
    sendgrid: tuple[FakeSendGrid, str], adapter: SendGridAdapter
) -> None:
    fake, _ = sendgrid
    await adapter.send(make_email(html_body=None, from_name=None, unsubscribe_mailto=None))
    [sent] = fake.requests
    assert sent["from"] == {"email": "alex@outreach.example.com"}
    assert sent["content"] == [{"type": "text/plain", "value": BODY}]
    assert sent["headers"]["List-Unsubscribe"] == "<https://hub.example.com/u/one-click?t=abc>"
    assert sent["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_accepted_without_message_id_still_returns_stable_receipt(
    sendgrid: tuple[FakeSendGrid, str], adapter: SendGridAdapter
) -> None:
    fake, _ = sendgrid
    fake.message_id = None
    first = await adapter.send(make_email())
    second = await adapter.send(make_email())
    assert first.provider_message_id == second.provider_message_id


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [(429, {"Retry-After": "7"}, 7.0), (503, {}, None), (500, {}, None), (408, {}, None)],
)
async def test_rate_limit_and_server_errors_are_transient(
    sendgrid: tuple[FakeSendGrid, str],
    adapter: SendGridAdapter,
    caplog: pytest.LogCaptureFixture,
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, _ = sendgrid
    fake.status, fake.headers = status, headers
    fake.body = {"errors": [{"message": "too many requests"}]} if status == 429 else None
    with pytest.raises(SendFailed) as caught:
        await adapter.send(make_email())
    assert caught.value.transient is True
    assert caught.value.code == status
    assert caught.value.retry_after == retry_after
    assert_nothing_private(caught.value, caplog)


async def test_bad_request_is_permanent_with_sendgrids_message(
    sendgrid: tuple[FakeSendGrid, str],
    adapter: SendGridAdapter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, _ = sendgrid
    fake.status = 400
    fake.body = {
        "errors": [
            {
                "message": "The from address does not match a verified Sender Identity.",
                "field": "from",
                "help": None,
            },
            {"message": f"Invalid recipient {TO}", "field": "personalizations.0.to"},
        ]
    }
    with pytest.raises(SendFailed) as caught:
        await adapter.send(make_email())
    assert caught.value.transient is False and caught.value.code == 400
    assert "does not match a verified Sender Identity" in str(caught.value)
    assert "Invalid recipient <redacted>" in str(caught.value)
    assert "personalizations" not in str(caught.value)  # SendGrid's text, not our payload
    assert_nothing_private(caught.value, caplog)


@pytest.mark.parametrize("status", [403, 413])
async def test_other_client_errors_are_permanent(
    sendgrid: tuple[FakeSendGrid, str], adapter: SendGridAdapter, status: int
) -> None:
    fake, _ = sendgrid
    fake.status, fake.body = status, "not json at all"
    with pytest.raises(SendFailed) as caught:
        await adapter.send(make_email())
    assert caught.value.transient is False
    assert str(caught.value) == f"sendgrid HTTP {status}: no error details"


async def test_wrong_key_is_permanent_and_never_leaked(
    sendgrid: tuple[FakeSendGrid, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong_key = "SG.wrong-key.bm90LXRoZS1yaWdodC1vbmU"
    settings = SendGridSettings(api_key=wrong_key, base_url=sendgrid[1])
    adapter = build_adapter("sendgrid", sendgrid=settings, now=lambda: NOW)
    try:
        with pytest.raises(SendFailed) as caught:
            await adapter.send(make_email())
    finally:
        await adapter.close()
    assert caught.value.transient is False and caught.value.code == 401
    assert "authorization grant is invalid" in str(caught.value)
    assert wrong_key not in caplog.text and wrong_key not in repr(caught.value)
    assert wrong_key not in repr(settings) and wrong_key not in str(settings.model_dump())
    assert_nothing_private(caught.value, caplog)


async def test_timeout_and_refused_connection_are_transient(
    sendgrid: tuple[FakeSendGrid, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake, base_url = sendgrid
    fake.delay = 0.8
    slow = SendGridAdapter(SendGridSettings(api_key=API_KEY, base_url=base_url, timeout=0.2))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    closed = SendGridAdapter(
        SendGridSettings(api_key=API_KEY, base_url=f"http://127.0.0.1:{free_port}")
    )
    for adapter, words in ((slow, "timed out"), (closed, "unreachable")):
        try:
            with pytest.raises(SendFailed) as caught:
                await adapter.send(make_email())
        finally:
            await adapter.close()
        assert caught.value.transient is True
        assert words in str(caught.value)
        assert caught.value.__cause__ is None
        assert_nothing_private(caught.value, caplog)


async def test_close_then_send_reopens_session(
    sendgrid: tuple[FakeSendGrid, str], adapter: SendGridAdapter
) -> None:
    fake, _ = sendgrid
    await adapter.send(make_email())
    await adapter.close()
    await adapter.send(make_email(idempotency_key="k-2"))
    assert len(fake.requests) == 2
