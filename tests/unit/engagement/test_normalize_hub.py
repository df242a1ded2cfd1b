"""The hub's own form: replies and auto-replies, meeting booked, UTC conversion, validation
errors told without values, and every provider's output read back unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.engagement.exceptions import MalformedWebhook
from agents.engagement.normalize import normalize
from agents.engagement.normalize.cli import run
from streams.contracts.models.engagement import ProviderEventNormalized

FIXTURES = Path(__file__).parent / "fixtures"
AGG = "seq-hot-nurture:5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_reply_and_auto_reply_keep_their_types_and_occurred_at_becomes_utc() -> None:
    assert normalize((FIXTURES / "hub_replies.json").read_bytes()) == [
        ProviderEventNormalized(
            provider="inbound", provider_event_id="reply-<CAF=x1@mail.example.com>",
            type="replied",
            provider_message_id="0100019bb2f4c1e2-3a7d9f10-6c2b-4e1a-9d55-1f2e3d4c5b6a-000000",
            occurred_at=datetime(2026, 1, 13, 16, 15, tzinfo=UTC), aggregate_id=AGG),
        ProviderEventNormalized(
            provider="inbound", provider_event_id="reply-<OOO-77@mail.example.com>",
            type="auto_replied", occurred_at=datetime(2026, 1, 13, 16, 20, tzinfo=UTC),
            aggregate_id=AGG),
    ]
    assert all(e.occurred_at.tzinfo == UTC for e in normalize(load("hub_replies.json")))


def test_a_single_object_is_one_event() -> None:
    assert normalize(load("hub_meeting_booked.json")) == [
        ProviderEventNormalized(
            provider="calendar", provider_event_id="mtg-3f9a2c", type="meeting_booked",
            occurred_at=datetime(2026, 1, 14, 14, tzinfo=UTC), aggregate_id=AGG)
    ]


@pytest.mark.parametrize(
    "fixture",
    [
        "sendgrid_batch.json", "mailgun_failed_temporary.json", "ses_bounce_permanent.json",
        "ses_open.json", "postmark_open.json", "postmark_bounce.json", "hub_replies.json",
    ],
)
def test_cli_output_is_the_hub_form_and_reads_back_unchanged(fixture: str) -> None:
    body = (FIXTURES / fixture).read_bytes()
    dumped = run(body, None)
    assert json.loads(json.dumps(dumped)) == dumped
    assert all(item["occurred_at"].endswith("Z") for item in dumped)
    assert normalize(json.dumps(dumped)) == normalize(body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "reply"}, "hub: [0]: type: Input should be "),
        ({"occurred_at": "2026-01-13T10:15:00"}, "hub: [0]: occurred_at: Value error, "
         "timestamp must carry a time zone"),
        ({"provider_event_id": None}, "hub: [0]: provider_event_id: Input should be a valid "
         "string"),
        ({"bounce_kind": "medium"}, "hub: [0]: bounce_kind: Input should be "),
        ({"jane.doe@example.com": True}, "hub: [0]: <key>: Extra inputs are not permitted"),
    ],
)
def test_invalid_elements_are_named_without_values(change: dict[str, Any], message: str) -> None:
    items = load("hub_replies.json")
    items[0].update(change)
    with pytest.raises(MalformedWebhook) as info:
        normalize(items)
    text = str(info.value)
    assert text.startswith(message)
    assert "@" not in text and "reply-" not in text
    assert info.value.__cause__ is None


def test_empty_array_and_non_objects_are_malformed() -> None:
    with pytest.raises(MalformedWebhook, match="empty array"):
        normalize([], "hub")
    with pytest.raises(MalformedWebhook, match=r"^hub: \[1\] is not a JSON object$"):
        normalize([load("hub_meeting_booked.json"), "x"], "hub")
    with pytest.raises(MalformedWebhook, match=r"^hub: body: provider: Field required"):
        normalize({"provider_event_id": "x"}, "HUB")
