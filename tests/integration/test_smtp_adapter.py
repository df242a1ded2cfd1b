"""SMTP adapter against a real aiosmtpd server on 127.0.0.1 (a free port, on the test loop)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from agents.sender.email import OutgoingEmail, message_id_for
from agents.sender.exceptions import SendFailed
from streams.adapters.email import SmtpAdapter, SmtpSettings, build_adapter

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
TO = "jane.doe@acmeroofing.com"
BODY = "Hi Jane, quick question about your roofing crews."
PASSWORD = "s3cret-smtp-pass"


def make_email(**overrides: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "to_email": TO,
        "from_email": "alex@outreach.example.com",
        "from_name": "Alex From Hub",
        "subject": "Roof season planning",
        "text_body": BODY,
        "html_body": "<p>Hi Jane, quick question about your roofing crews.</p>",
        "aggregate_id": "seq-roofing:c0ffee",
        "idempotency_key": "seq-roofing:c0ffee:touch-1",
        "touch_index": 1,
        "unsubscribe_url": "https://hub.example.com/u/one-click?t=" + "x" * 120,
        "unsubscribe_mailto": "unsubscribe@outreach.example.com?subject=unsubscribe",
        "custom_args": {"campaign_id": "cmp-42"},
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)


class Collector:
    """aiosmtpd handler: records accepted envelopes, or answers with a scripted reply."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.rcpt_reply: str | None = None
        self.data_reply: str | None = None
        self.logins: list[str] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # unhandled failure: server answers 535


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[Collector, int]]:
    handler = Collector()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="mx.test.local",
            authenticator=handler.authenticate,
            auth_require_tls=False,  # loopback only; the real relay would require TLS
        ),
        "127.0.0.1",
        0,
    )
    port = server.sockets[0].getsockname()[1]
    yield handler, port
    server.close()
    await server.wait_closed()


def adapter_for(port: int, **overrides: Any) -> SmtpAdapter:
    settings = SmtpSettings(host="127.0.0.1", port=port, timeout=5, **overrides)
    return SmtpAdapter(settings, now=lambda: NOW)


def assert_nothing_private(exc: SendFailed) -> None:
    for text in (str(exc), repr(exc)):
        assert TO not in text
        assert BODY not in text
        assert PASSWORD not in text
    assert exc.__cause__ is None


async def test_delivers_with_one_click_unsubscribe_and_custom_headers(
    smtp_server: tuple[Collector, int],
) -> None:
    handler, port = smtp_server
    message = make_email()
    receipt = await adapter_for(port).send(message)

    [envelope] = handler.envelopes
    assert envelope.mail_from == "alex@outreach.example.com"
    assert envelope.rcpt_tos == [TO]
    raw = envelope.original_content or envelope.content
    assert isinstance(raw, bytes)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"] == TO
    assert parsed["Subject"] == "Roof season planning"
    assert parsed["From"].addresses[0].display_name == "Alex From Hub"

    expected_unsub = (
        f"<{message.unsubscribe_url}>, "
        "<mailto:unsubscribe@outreach.example.com?subject=unsubscribe>"
    )
    # On the wire as one plain line: never folded into RFC 2047 encoded-words.
    assert f"List-Unsubscribe: {expected_unsub}\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert parsed["Message-ID"] == message_id_for(message)
    assert receipt.provider == "smtp"
    assert receipt.provider_message_id == message_id_for(message).strip("<>")
    assert receipt.accepted_at == NOW
    assert parsed["X-Outreach-Aggregate-Id"] == "seq-roofing:c0ffee"
    assert parsed["X-Outreach-Idempotency-Key"] == "seq-roofing:c0ffee:touch-1"
    assert parsed["X-Outreach-Touch-Index"] == "1"
    assert parsed["X-Outreach-Campaign-Id"] == "cmp-42"

    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().strip() == BODY
    assert html is not None and "<p>Hi Jane" in html.get_content()


async def test_text_only_and_no_mailto_still_carry_one_click_headers(
    smtp_server: tuple[Collector, int],
) -> None:
    handler, port = smtp_server
    message = make_email(html_body=None, unsubscribe_mailto=None, from_name=None)
    await adapter_for(port).send(message)
    parsed = email.message_from_bytes(handler.envelopes[0].content, policy=email.policy.default)
    assert parsed.get_content_type() == "text/plain"
    assert parsed["List-Unsubscribe"] == f"<{message.unsubscribe_url}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_resend_after_crash_is_the_same_message(smtp_server: tuple[Collector, int]) -> None:
    handler, port = smtp_server
    adapter = adapter_for(port)
    first = await adapter.send(make_email())
    again = await adapter_for(port).send(make_email())  # a new process, the same touch
    other = await adapter.send(make_email(idempotency_key="seq-roofing:c0ffee:touch-2"))
    ids = [
        email.message_from_bytes(e.content, policy=email.policy.default)["Message-ID"]
        for e in handler.envelopes
    ]
    assert ids[0] == ids[1] != ids[2]
    assert first.provider_message_id == again.provider_message_id != other.provider_message_id


@pytest.mark.parametrize(
    ("stage", "reply", "transient", "code"),
    [
        ("rcpt", f"550 5.1.1 <{TO}>: Recipient address rejected: User unknown", False, 550),
        ("rcpt", f"451 4.7.1 <{TO}>: Greylisted, try again later", True, 451),
        ("rcpt", "452 4.2.2 Mailbox full", True, 452),
        ("data", "554 5.7.1 Message rejected as spam", False, 554),
        ("data", "421 4.3.2 Service shutting down", True, 421),
    ],
)
async def test_smtp_replies_are_classified(
    smtp_server: tuple[Collector, int], stage: str, reply: str, transient: bool, code: int
) -> None:
    handler, port = smtp_server
    setattr(handler, f"{stage}_reply", reply)
    with pytest.raises(SendFailed) as caught:
        await adapter_for(port).send(make_email())
    assert caught.value.transient is transient
    assert caught.value.code == code
    assert caught.value.provider == "smtp"
    assert str(code) in str(caught.value)
    assert_nothing_private(caught.value)
    assert handler.envelopes == []


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SendFailed) as caught:
        await adapter_for(port).send(make_email())
    assert caught.value.transient is True
    assert_nothing_private(caught.value)


async def test_silent_server_times_out_transient() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)  # accepts TCP, never greets
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        adapter = SmtpAdapter(SmtpSettings(port=port, timeout=0.3), now=lambda: NOW)
        with pytest.raises(SendFailed) as caught:
            await adapter.send(make_email())
    finally:
        server.close()
    assert caught.value.transient is True
    assert "timed out" in str(caught.value)


async def test_auth_success_and_rejected_credentials(smtp_server: tuple[Collector, int]) -> None:
    handler, port = smtp_server
    ok = build_adapter(
        "smtp",
        smtp=SmtpSettings(port=port, username="hub", password=PASSWORD, timeout=5),
        now=lambda: NOW,
    )
    await ok.send(make_email())
    assert handler.logins == ["hub"] and len(handler.envelopes) == 1

    wrong = adapter_for(port, username="hub", password="not-" + PASSWORD)
    with pytest.raises(SendFailed) as caught:
        await wrong.send(make_email())
    assert caught.value.transient is False and caught.value.code == 535
    assert "not-" + PASSWORD not in str(caught.value)
    assert_nothing_private(caught.value)
