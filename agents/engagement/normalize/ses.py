"""Amazon SES through SNS: an SNS envelope whose ``Message`` is the SES event as a JSON string.

Mapping (``notificationType``, or ``eventType`` with event publishing → type): Bounce → bounced,
Complaint → complained, Delivery → delivered (never a bounce), Open → opened, Click → clicked,
Subscription (SES list management) with ``unsubscribeAll`` → unsubscribed.

Decisions:
- ``bounceType`` Permanent → hard, Transient → soft, Undetermined → soft: SES could not tell
  why the message bounced, and a hard bounce suppresses the address for good; a soft bounce
  stops nothing for good, and repeated soft bounces are the hub's to escalate.
- Send, Reject, Rendering Failure and DeliveryDelay carry no engagement meaning: skipped.
  Reject is SES refusing the content (a virus), not the recipient's address.
- A Complaint whose ``complaintFeedbackType`` is ``not-spam`` is the opposite of a complaint:
  skipped.
- The SNS ``MessageId`` is the event id: SNS redelivers the same notification with the same id,
  and each SES event (every open, every click) is its own notification.
- An SNS SubscriptionConfirmation / UnsubscribeConfirmation is a handshake, not an event:
  ``NotAnEvent``; the webhook page (streams/webhooks.py) confirms signed ones and never
  produces them.
- Custom args are SES message tags (``mail.tags``: name → list of strings; the first is used).
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from agents.engagement.exceptions import Fields, NotAnEvent, custom_arg
from streams.contracts.models.engagement import EngagementType, ProviderEventNormalized

PROVIDER = "ses"

BounceKind = Literal["hard", "soft"]

# event type → (engagement type or None to skip, key of the object holding the event's details)
_TYPES: dict[str, tuple[EngagementType | None, str]] = {
    "Bounce": ("bounced", "bounce"),
    "Complaint": ("complained", "complaint"),
    "Delivery": ("delivered", "delivery"),
    "Open": ("opened", "open"),
    "Click": ("clicked", "click"),
    "Subscription": ("unsubscribed", "subscription"),
    "Send": (None, "send"),
    "Reject": (None, "reject"),
    "Rendering Failure": (None, "failure"),
    "DeliveryDelay": (None, "deliveryDelay"),
}

_BOUNCE: dict[str, BounceKind] = {
    "Permanent": "hard",
    "Transient": "soft",
    "Undetermined": "soft",
}

_HANDSHAKES = ("SubscriptionConfirmation", "UnsubscribeConfirmation")


def normalize(doc: Any) -> list[ProviderEventNormalized]:
    envelope = Fields.of(doc, PROVIDER, "")
    sns_type = envelope.text("Type")
    if sns_type in _HANDSHAKES:
        raise NotAnEvent(
            f"{PROVIDER}: this is an SNS {sns_type}, not an event: an operator confirms the "
            "subscription (its SubscribeURL) once; nothing here is normalized"
        )
    if sns_type != "Notification":
        raise envelope.error("Type", "is not an SNS Notification")
    event_id = envelope.text("MessageId")
    try:
        inner = orjson.loads(envelope.text("Message"))
    except orjson.JSONDecodeError:
        # The decoder's message can quote the text around the error: it is not kept.
        raise envelope.error("Message", "is not a JSON string") from None
    message = Fields.of(inner, PROVIDER, "Message")
    name = message.opt_text("eventType") or message.opt_text("notificationType")
    if name is None:
        raise message.error("notificationType", "is missing (and so is eventType)")
    if name not in _TYPES:
        raise message.error(
            "notificationType", f"is not an SES event type ({', '.join(sorted(_TYPES))})"
        )
    kind, detail_key = _TYPES[name]
    mail = message.obj("mail")
    if kind is None:
        return []
    detail = message.obj(detail_key)
    occurred_at = detail.iso_time("timestamp")
    bounce_kind: BounceKind | None = None
    if kind == "bounced":
        bounce_type = detail.text("bounceType")
        if bounce_type not in _BOUNCE:
            raise detail.error("bounceType", "is not Permanent, Transient or Undetermined")
        bounce_kind = _BOUNCE[bounce_type]
    elif not _meaningful(kind, detail):
        return []
    tags = mail.opt_obj("tags")
    return [
        ProviderEventNormalized(
            provider=PROVIDER,
            provider_event_id=event_id,
            type=kind,
            bounce_kind=bounce_kind,
            provider_message_id=mail.opt_text("messageId"),
            occurred_at=occurred_at,
            aggregate_id=custom_arg(tags, "aggregate_id", first_of_list=True),
            idempotency_key=custom_arg(tags, "idempotency_key", first_of_list=True),
        )
    ]


def _meaningful(kind: EngagementType, detail: Fields) -> bool:
    if kind == "complained":
        return detail.opt_text("complaintFeedbackType") != "not-spam"
    if kind == "unsubscribed":
        # A change of topic preferences alone is not an unsubscribe from the hub's outreach.
        prefs = detail.opt_obj("newTopicPreferences")
        return prefs is not None and prefs.has("unsubscribeAll") and prefs.flag("unsubscribeAll")
    return True
