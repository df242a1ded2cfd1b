"""Postmark webhooks: each RecordType mapped exactly, bounce Types, derived ids for records
without an ID (stable across duplicates, distinct across events), SubscriptionChange rules."""

from __future__ import annotations

import hashlib
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
MID = "883953f4-6105-42a2-a16a-77a8eac79483"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def only(name: str, **changes: Any) -> ProviderEventNormalized:
    [event] = normalize({**load(name), **changes})
    return event


def expected(event_id: str, kind: str, when: datetime, bounce: str | None = None) -> Any:
    return ProviderEventNormalized(
        provider="postmark", provider_event_id=event_id, type=kind, bounce_kind=bounce,
        provider_message_id=MID, occurred_at=when, aggregate_id=AGG, idempotency_key=IDEM,
    )


def test_bounce_uses_its_id_and_converts_the_offset_to_utc() -> None:
    assert normalize((FIXTURES / "postmark_bounce.json").read_bytes()) == [
        expected("4323372036854775807", "bounced",
                 datetime(2026, 1, 12, 15, 0, 1, 273539, UTC), "hard")
    ]


def test_spam_complaint_uses_its_id() -> None:
    assert normalize(load("postmark_spam_complaint.json")) == [
        expected("42", "complained", datetime(2026, 1, 13, 9, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("fixture", "kind", "when", "prefix"),
    [
        ("postmark_delivery.json", "delivered", datetime(2026, 1, 12, 15, 0, 2, tzinfo=UTC),
         "delivery-"),
        ("postmark_open.json", "opened", datetime(2026, 1, 12, 16, 30, 0, 907025, UTC), "open-"),
        ("postmark_click.json", "clicked", datetime(2026, 1, 12, 16, 31, tzinfo=UTC), "click-"),
        ("postmark_subscription_change.json", "unsubscribed",
         datetime(2026, 1, 13, 9, 5, tzinfo=UTC), "subscriptionchange-"),
    ],
)
def test_records_without_id_get_a_derived_one(
    fixture: str, kind: str, when: datetime, prefix: str
) -> None:
    [event] = normalize((FIXTURES / fixture).read_bytes())
    assert event == expected(event.provider_event_id, kind, when)
    assert event.provider_event_id.startswith(prefix)
    assert len(event.provider_event_id) == len(prefix) + 40
    assert "@" not in event.provider_event_id


def test_open_id_is_pinned_so_a_code_change_cannot_silently_break_dedupe() -> None:
    # Ids already stored must match a redelivery normalized by a later release.
    parts = ["Open", MID, "2026-01-12T16:30:00.9070259Z", "jane.doe@example.com"]
    digest = hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()
    assert only("postmark_open.json").provider_event_id == f"open-{digest[:40]}" == (
        "open-68ad11ab87fc94cbb0659bc44d8b92b7aeb6ac9a")


def test_derived_id_is_stable_across_duplicates_and_key_order() -> None:
    doc = load("postmark_open.json")
    reordered = dict(reversed(list(doc.items())))
    reordered["Geo"] = {"City": "Elsewhere"}  # fields outside the id may differ on a redelivery
    assert normalize(doc) == normalize(json.dumps(doc)) == normalize(reordered)


@pytest.mark.parametrize(
    "change",
    [
        {"ReceivedAt": "2026-01-12T16:45:00Z"},
        {"Recipient": "cc.person@example.com"},
        {"MessageID": "0f0e0d0c-0000-4000-8000-000000000000"},
    ],
)
def test_derived_id_differs_for_a_different_open(change: dict[str, str]) -> None:
    assert only("postmark_open.json").provider_event_id != (
        only("postmark_open.json", **change).provider_event_id)


def test_two_links_clicked_in_the_same_instant_are_two_events() -> None:
    first = only("postmark_click.json")
    second = only("postmark_click.json", OriginalLink="https://www.example.com/demo")
    assert first.provider_event_id != second.provider_event_id


@pytest.mark.parametrize(
    ("bounce_type", "kind", "bounce_kind"),
    [
        ("HardBounce", "bounced", "hard"),
        ("BadEmailAddress", "bounced", "hard"),
        ("SoftBounce", "bounced", "soft"),
        ("Transient", "bounced", "soft"),
        ("DnsError", "bounced", "soft"),
        ("SomethingNew", "bounced", "soft"),
        ("AutoResponder", "auto_replied", None),
        ("Unsubscribe", "unsubscribed", None),
        ("SpamComplaint", "complained", None),
    ],
)
def test_bounce_types(bounce_type: str, kind: str, bounce_kind: str | None) -> None:
    event = only("postmark_bounce.json", Type=bounce_type)
    assert (event.type, event.bounce_kind) == (kind, bounce_kind)


@pytest.mark.parametrize("bounce_type", ["Subscribe", "AddressChange", "OpenRelayTest"])
def test_bounce_types_about_nothing_of_the_recipient_are_skipped(bounce_type: str) -> None:
    assert normalize({**load("postmark_bounce.json"), "Type": bounce_type}) == []


@pytest.mark.parametrize(
    ("changes", "count"),
    [
        ({"SuppressSending": False, "SuppressionReason": None}, 0),
        ({"SuppressionReason": "HardBounce"}, 0),
        ({"SuppressionReason": "SpamComplaint"}, 0),
        ({"SuppressionReason": None}, 1),
        ({"SuppressionReason": "ManualSuppression"}, 1),
    ],
)
def test_subscription_change(changes: dict[str, Any], count: int) -> None:
    assert len(normalize({**load("postmark_subscription_change.json"), **changes})) == count


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"RecordType": "Inbound"}, None),
        ({"MessageID": None}, "postmark: MessageID is missing"),
        ({"ReceivedAt": 1768235400}, "postmark: ReceivedAt is not a string"),
        ({"ReceivedAt": "2026-01-12T16:30:00"}, "postmark: ReceivedAt has no time zone offset"),
        ({"Metadata": "aggregate_id=x"}, "postmark: Metadata is not a JSON object"),
        ({"Metadata": {"aggregate_id": 9}}, "postmark: Metadata.aggregate_id is not a string"),
    ],
)
def test_malformed_records_name_the_field(changes: dict[str, Any], message: str | None) -> None:
    with pytest.raises(MalformedWebhook) as info:
        normalize({**load("postmark_open.json"), **changes})
    if message is None:
        assert str(info.value).startswith("postmark: RecordType is not a Postmark record type")
    else:
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ID": None}, "postmark: ID is missing"),
        ({"ID": True}, "postmark: ID is not a string"),
        ({"Type": None}, "postmark: Type is missing"),
    ],
)
def test_malformed_bounces_name_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedWebhook) as info:
        normalize({**load("postmark_bounce.json"), **changes})
    assert str(info.value) == message


def test_subscription_change_needs_suppress_sending() -> None:
    with pytest.raises(MalformedWebhook, match="SuppressSending is missing or not true/false"):
        normalize({**load("postmark_subscription_change.json"), "SuppressSending": "yes"})
