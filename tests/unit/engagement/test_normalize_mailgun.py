"""Mailgun webhooks: event-data mapped exactly (failed severity → bounce kind), custom args
from user-variables, skipped kinds, and malformed bodies told without their values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.engagement.exceptions import MalformedWebhook
from agents.engagement.normalize import normalize
from streams.contracts.models.engagement import ProviderEventNormalized

FIXTURES = Path(__file__).parent / "fixtures"
AGG = "seq-hot-nurture:5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c"
IDEM = "send:seq-hot-nurture:5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c:1"
MID = "20260112150000.1.A1B2C3D4E5F6@mail.example.com"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def expected(event_id: str, kind: str, when: datetime, bounce: str | None = None) -> Any:
    return ProviderEventNormalized(
        provider="mailgun", provider_event_id=event_id, type=kind, bounce_kind=bounce,
        provider_message_id=MID, occurred_at=when, aggregate_id=AGG, idempotency_key=IDEM,
    )


@pytest.mark.parametrize(
    ("fixture", "event"),
    [
        ("mailgun_delivered.json", expected("CPgfbmQMTCKtHW6uIWtuVe", "delivered",
                                            datetime(2026, 1, 12, 15, 0, 9, 123456, UTC))),
        ("mailgun_opened.json", expected("Ase7i2zsRYeDXztHGENqRA", "opened",
                                         datetime(2026, 1, 12, 16, 30, 0, 250000, UTC))),
        ("mailgun_clicked.json", expected("Bq3x9mGQRd2oWgpT1aG0cw", "clicked",
                                          datetime(2026, 1, 12, 16, 31, 0, 500000, UTC))),
        ("mailgun_failed_permanent.json", expected("G9Bn5sl1TC6nu79C8C0bwg", "bounced",
                                                   datetime(2026, 1, 12, 15, 1, 0, 0, UTC),
                                                   "hard")),
        ("mailgun_failed_temporary.json", expected("Fs7-5t81S2ScvFvcFJhdlA", "bounced",
                                                   datetime(2026, 1, 12, 15, 2, 0, 750000, UTC),
                                                   "soft")),
        ("mailgun_complained.json", expected("ncV2XwymRUKbPek_MIM-Gw", "complained",
                                             datetime(2026, 1, 13, 9, 0, 0, 0, UTC))),
        ("mailgun_unsubscribed.json", expected("W3X4Y5Z6a7b8c9d0e1f2g3", "unsubscribed",
                                               datetime(2026, 1, 13, 9, 5, 0, 0, UTC))),
    ],
)
def test_each_event_maps_exactly(fixture: str, event: ProviderEventNormalized) -> None:
    assert normalize((FIXTURES / fixture).read_bytes()) == [event]
    assert normalize(load(fixture), "mailgun") == [event]


def test_accepted_carries_no_engagement_and_is_skipped() -> None:
    assert normalize(load("mailgun_accepted.json")) == []


def test_message_id_loses_angle_brackets_and_absent_parts_are_none() -> None:
    doc = load("mailgun_opened.json")
    doc["event-data"]["message"]["headers"]["message-id"] = f"<{MID}>"
    assert normalize(doc)[0].provider_message_id == MID
    del doc["event-data"]["message"]
    del doc["event-data"]["user-variables"]
    [event] = normalize(doc)
    assert (event.provider_message_id, event.aggregate_id, event.idempotency_key) == (
        None, None, None)


def test_signature_is_not_required_here() -> None:
    doc = load("mailgun_delivered.json")
    del doc["signature"]
    assert normalize(doc)[0].type == "delivered"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["event-data"].pop("id"), "mailgun: event-data.id is missing"),
        (lambda d: d["event-data"].pop("severity"), "mailgun: event-data.severity is missing"),
        (lambda d: d["event-data"].update(severity="fatal"),
         "mailgun: event-data.severity is neither permanent nor temporary"),
        (lambda d: d["event-data"].update(timestamp="2026-01-12T15:01:00Z"),
         "mailgun: event-data.timestamp is not a number of seconds since 1970"),
        (lambda d: d["event-data"].update(timestamp=float("nan")),
         "mailgun: event-data.timestamp is not a time after 1970"),
        (lambda d: d.update({"event-data": "jane.doe@example.com"}),
         "mailgun: event-data is not a JSON object"),
        (lambda d: d["event-data"]["user-variables"].update(aggregate_id=7),
         "mailgun: event-data.user-variables.aggregate_id is not a string"),
        (lambda d: d["event-data"]["message"].update(headers=["to"]),
         "mailgun: event-data.message.headers is not a JSON object"),
    ],
)
def test_malformed_fields_are_named(mutate: Any, message: str) -> None:
    doc = load("mailgun_failed_permanent.json")
    mutate(doc)
    with pytest.raises(MalformedWebhook) as info:
        normalize(doc)
    assert str(info.value) == message


def test_unknown_event_is_malformed() -> None:
    doc = load("mailgun_delivered.json")
    doc["event-data"]["event"] = "bounced"
    with pytest.raises(MalformedWebhook, match=r"^mailgun: event-data\.event is not a Mailgun"):
        normalize(doc)


def test_named_mailgun_without_event_data() -> None:
    with pytest.raises(MalformedWebhook, match=r"^mailgun: event-data is missing$"):
        normalize({"signature": {}}, "mailgun")
