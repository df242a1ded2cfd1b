"""A touch rendered by the sender core, sent by the SMTP adapter to a real aiosmtpd server and
read back: the card's names in subject and body, both links, the one-click headers."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from agents.sender.content import ContentLibrary
from agents.sender.core import SendEmail, SenderConfig, SenderState, decide_request
from agents.sequencer.definition import load_definitions, load_templates
from streams.adapters.email import SmtpAdapter, SmtpSettings
from streams.contracts.models import MergeFields, TouchRequested

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
CONTENT = ContentLibrary.of(load_templates())
CFG = SenderConfig(from_email="alex@outreach.example.com", from_name="Alex at Outreach",
                   public_base_url="https://hub.example.com", unsubscribe_secret=b"u" * 32,
                   calendar_secret=b"c" * 32, content=CONTENT,
                   approved_digests=lambda _campaign: CONTENT.digests)


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued"


@pytest.fixture
async def inbox() -> AsyncIterator[tuple[Inbox, int]]:
    handler = Inbox()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="mx.test.local"), "127.0.0.1", 0)
    yield handler, server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def request(strategy: str, index: int, fields: MergeFields) -> TouchRequested:
    run = f"{load_definitions()[strategy].sequence_id}-0a1b2c3d4e"
    return TouchRequested(
        event_id="ev-1", occurred_at=NOW, correlation_id="corr-1",
        process_id="outreach-execution-sequence-20260302-0badc0de",
        aggregate_id=f"{run}:ck-jane", sequence_id=run, campaign_id="cmp-1",
        company_sov_id="cmp_8f2c1a", contact_key="ck-jane", touch_index=index, channel="email",
        content_digest=load_definitions()[strategy].touch(index).content_digest,
        to_email="jane.doe@acmeroofing.com", due_at=NOW, idempotency_key=f"{run}:k-{index}",
        merge_fields=fields)


def parts(message: EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): p.get_content().replace("\r\n", "\n") for p in message.walk()
            if not p.is_multipart()}


@pytest.mark.parametrize(("strategy", "index", "subject"), [
    ("PERSONALIZED_EMAIL", 1, "Quick question about Acme Roofing & Sons"),
    ("PHONE_AND_EMAIL", 1, "Jane, a quick idea for Acme Roofing & Sons"),
])
async def test_the_rendered_touch_arrives_with_names_links_and_headers(
        inbox: tuple[Inbox, int], strategy: str, index: int, subject: str) -> None:
    handler, port = inbox
    fields = MergeFields(first_name="Jane", last_name="Doe", title="Head of Sales",
                         company_name="Acme Roofing & Sons")
    outcome = decide_request(SenderState(), request(strategy, index, fields), CFG)
    assert isinstance(outcome, SendEmail)
    adapter = SmtpAdapter(SmtpSettings(host="127.0.0.1", port=port, timeout=5), now=lambda: NOW)
    await adapter.send(outcome.email)

    [envelope] = handler.envelopes
    raw: Any = envelope.original_content or envelope.content
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(received, EmailMessage)
    assert received["Subject"] == subject
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(received["List-Unsubscribe"]).strip("<>")
    assert unsubscribe.startswith("https://hub.example.com/unsubscribe?a=")
    body = parts(received)
    text, html = body["text/plain"], body["text/html"]
    assert text.startswith("Hi Jane,\n\n")
    assert "Acme Roofing & Sons" in text and "Acme Roofing &amp; Sons" in html
    assert "<p>Hi Jane,</p>" in html
    assert unsubscribe in text and unsubscribe.replace("&", "&amp;") in html
    calendar = outcome.email.calendar_link
    assert calendar and calendar.startswith("https://hub.example.com/calendar/book?")
    assert calendar in text and calendar.replace("&", "&amp;") in html
