"""Amazon SES through SNS: the Message JSON string read, bounce types mapped (a Delivery is
never a bounce), SNS MessageId as the event id, tags as custom args, and the SNS handshake
refused as not an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.engagement.exceptions import MalformedWebhook, NotAnEvent, UnrecognisedWebhook
from agents.engagement.normalize import normalize
from streams.contracts.exceptions import InvalidInput
from streams.contracts.models.engagement import ProviderEventNormalized

FIXTURES = Path(__file__).parent / "fixtures"
AGG = "seq-hot-nurture:5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c"
IDEM = "send:seq-hot-nurture:5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c:1"
MID = "0100019bb2f4c1e2-3a7d9f10-6c2b-4e1a-9d55-1f2e3d4c5b6a-000000"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def with_message(name: str, change: Any) -> dict[str, Any]:
    """The fixture with its inner SES message changed by ``change(message)``."""
    doc = load(name)
    message = json.loads(doc["Message"])
    change(message)
    doc["Message"] = json.dumps(message)
    return doc


def sns_id(n: int) -> str:
    return f"a1b2c3d4-000{n}-5e6f-8a9b-0c1d2e3f4a5b"


def expected(n: int, kind: str, when: datetime, bounce: str | None = None,
             tagged: bool = False) -> ProviderEventNormalized:
    return ProviderEventNormalized(
        provider="ses", provider_event_id=sns_id(n), type=kind, bounce_kind=bounce,
        provider_message_id=MID, occurred_at=when,
        aggregate_id=AGG if tagged else None, idempotency_key=IDEM if tagged else None,
    )


@pytest.mark.parametrize(
    ("fixture", "event"),
    [
        ("ses_bounce_permanent.json",
         expected(1, "bounced", datetime(2026, 1, 12, 15, 0, 1, 234000, UTC), "hard")),
        ("ses_bounce_transient.json",
         expected(2, "bounced", datetime(2026, 1, 12, 15, 5, tzinfo=UTC), "soft", tagged=True)),
        ("ses_complaint.json", expected(3, "complained", datetime(2026, 1, 13, 9, tzinfo=UTC))),
        ("ses_delivery.json",
         expected(4, "delivered", datetime(2026, 1, 12, 15, 0, 2, tzinfo=UTC))),
        ("ses_open.json",
         expected(5, "opened", datetime(2026, 1, 12, 16, 30, tzinfo=UTC), tagged=True)),
        ("ses_click.json",
         expected(6, "clicked", datetime(2026, 1, 12, 16, 31, tzinfo=UTC), tagged=True)),
    ],
)
def test_each_notification_maps_exactly(fixture: str, event: ProviderEventNormalized) -> None:
    assert normalize((FIXTURES / fixture).read_bytes()) == [event]


def test_a_delivery_is_not_a_bounce() -> None:
    [event] = normalize(load("ses_delivery.json"))
    assert event.type == "delivered" and event.bounce_kind is None


def test_undetermined_bounce_is_soft() -> None:
    doc = with_message("ses_bounce_permanent.json",
                       lambda m: m["bounce"].update(bounceType="Undetermined"))
    assert normalize(doc)[0].bounce_kind == "soft"


def test_unknown_bounce_type_is_malformed() -> None:
    doc = with_message("ses_bounce_permanent.json", lambda m: m["bounce"].update(bounceType="Hard"))
    with pytest.raises(MalformedWebhook) as info:
        normalize(doc)
    assert str(info.value) == (
        "ses: Message.bounce.bounceType is not Permanent, Transient or Undetermined")


def test_subscription_confirmation_is_not_an_event() -> None:
    with pytest.raises(NotAnEvent) as info:
        normalize((FIXTURES / "ses_subscription_confirmation.json").read_bytes())
    assert isinstance(info.value, UnrecognisedWebhook) and isinstance(info.value, InvalidInput)
    message = str(info.value)
    assert "SubscriptionConfirmation, not an event" in message
    assert "https://" not in message and "Token" not in message


def test_message_that_is_not_json_is_malformed_without_quoting_it() -> None:
    with pytest.raises(MalformedWebhook) as info:
        normalize(load("ses_message_not_json.json"))
    assert str(info.value) == "ses: Message is not a JSON string"
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("kind", ["Send", "Reject", "Rendering Failure", "DeliveryDelay"])
def test_send_side_kinds_are_skipped(kind: str) -> None:
    doc = with_message("ses_send.json", lambda m: m.update(eventType=kind))
    assert normalize(doc) == []


def test_a_not_spam_feedback_is_not_a_complaint() -> None:
    doc = with_message("ses_complaint.json",
                       lambda m: m["complaint"].update(complaintFeedbackType="not-spam"))
    assert normalize(doc) == []


def test_list_management_unsubscribe_all_is_unsubscribed() -> None:
    def to_subscription(m: dict[str, Any]) -> None:
        m.pop("open")
        m["eventType"] = "Subscription"
        m["subscription"] = {
            "contactList": "outreach", "timestamp": "2026-01-13T09:05:00.000Z", "source":
            "UnsubscribeHeader", "newTopicPreferences": {"unsubscribeAll": True},
            "oldTopicPreferences": {"unsubscribeAll": False}}

    doc = with_message("ses_open.json", to_subscription)
    [event] = normalize(doc)
    assert (event.type, event.occurred_at) == (
        "unsubscribed", datetime(2026, 1, 13, 9, 5, tzinfo=UTC))

    def to_topic_change(m: dict[str, Any]) -> None:
        to_subscription(m)
        m["subscription"]["newTopicPreferences"]["unsubscribeAll"] = False

    assert normalize(with_message("ses_open.json", to_topic_change)) == []


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("MessageId"), "ses: MessageId is missing"),
        (lambda d: d.update(Type="Telegram"), "ses: Type is not an SNS Notification"),
        (lambda d: d.update(Message={"eventType": "Open"}), "ses: Message is not a string"),
        (lambda d: d.update(Message="[]"), "ses: Message is not a JSON object"),
    ],
)
def test_broken_envelopes_name_the_field(mutate: Any, message: str) -> None:
    doc = load("ses_open.json")
    mutate(doc)
    with pytest.raises(MalformedWebhook) as info:
        normalize(doc, "ses")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.pop("eventType"), "ses: Message.notificationType is missing (and so is "
         "eventType)"),
        (lambda m: m.pop("open"), "ses: Message.open is missing"),
        (lambda m: m.pop("mail"), "ses: Message.mail is missing"),
        (lambda m: m["open"].update(timestamp="2026-01-12 16:30"),
         "ses: Message.open.timestamp has no time zone offset"),
        (lambda m: m["open"].update(timestamp="yesterday"),
         "ses: Message.open.timestamp is not an ISO-8601 timestamp"),
        (lambda m: m["mail"]["tags"].update(aggregate_id="seq:1"),
         "ses: Message.mail.tags.aggregate_id is not a non-empty list of strings"),
        (lambda m: m["mail"]["tags"].update(aggregate_id=[1]),
         "ses: Message.mail.tags.aggregate_id is not a string"),
        (lambda m: m.update(eventType="Received"), None),
    ],
)
def test_broken_messages_name_the_field(change: Any, message: str | None) -> None:
    doc = with_message("ses_open.json", change)
    with pytest.raises(MalformedWebhook) as info:
        normalize(doc)
    if message is None:
        assert str(info.value).startswith("ses: Message.notificationType is not an SES event type")
    else:
        assert str(info.value) == message


def test_event_without_its_sns_envelope_is_unrecognised_with_the_reason() -> None:
    raw = json.loads(load("ses_open.json")["Message"])
    with pytest.raises(UnrecognisedWebhook, match="without its SNS envelope"):
        normalize(raw)
