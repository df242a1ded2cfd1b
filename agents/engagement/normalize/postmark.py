"""Postmark webhooks: one JSON object per request, told apart by ``RecordType``.

Mapping (``RecordType`` → type): Bounce → bounced (``Type`` HardBounce → hard, SoftBounce /
Transient → soft; see the table below for the rest), Delivery → delivered, Open → opened,
Click → clicked, SpamComplaint → complained, SubscriptionChange with ``SuppressSending`` true
→ unsubscribed.

Decisions:
- Bounce and SpamComplaint carry an ``ID``; Delivery, Open, Click and SubscriptionChange do
  not, so their id is derived: sha256 over (RecordType, MessageID, the event's own timestamp
  as sent, Recipient), plus OriginalLink for clicks (two links clicked in the same instant are
  two events). A redelivered duplicate is byte-identical, so it gets the same id.
- Postmark reports an out-of-office through the bounce webhook (``Type`` AutoResponder): that
  is ``auto_replied``, which never counts as a reply.
- A bounce ``Type`` that is not in the table is still a bounce: soft, because a hard bounce
  suppresses the address for good on evidence we cannot read.
- SubscriptionChange with ``SuppressSending`` false (a reactivation) is skipped; with
  ``SuppressionReason`` HardBounce or SpamComplaint it is skipped too: it echoes the Bounce /
  SpamComplaint event Postmark already sent, and counting it again would double the rates.
- Custom args come from ``Metadata``.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import orjson

from agents.engagement.exceptions import Fields, custom_arg
from streams.contracts.models.engagement import EngagementType, ProviderEventNormalized

PROVIDER = "postmark"

BounceKind = Literal["hard", "soft"]

# Bounce `Type` → (engagement type or None to skip, bounce kind when bounced)
_BOUNCE: dict[str, tuple[EngagementType | None, BounceKind | None]] = {
    "HardBounce": ("bounced", "hard"),
    "BadEmailAddress": ("bounced", "hard"),
    "ManuallyDeactivated": ("bounced", "hard"),
    "SoftBounce": ("bounced", "soft"),
    "Transient": ("bounced", "soft"),
    "DnsError": ("bounced", "soft"),
    "Blocked": ("bounced", "soft"),
    "SpamNotification": ("bounced", "soft"),
    "AutoResponder": ("auto_replied", None),
    "SpamComplaint": ("complained", None),
    "Unsubscribe": ("unsubscribed", None),
    # Not about the recipient's address: a subscribe request, an address change notice, a relay
    # test, an inbound or template failure on Postmark's side.
    "Subscribe": (None, None),
    "AddressChange": (None, None),
    "OpenRelayTest": (None, None),
    "InboundError": (None, None),
    "TemplateRenderingFailed": (None, None),
}
_UNLISTED_BOUNCE: tuple[EngagementType, BounceKind] = ("bounced", "soft")

# RecordType → (engagement type, field holding the event's time); Bounce-like ones have an ID.
_RECORDS: dict[str, tuple[EngagementType, str]] = {
    "Bounce": ("bounced", "BouncedAt"),
    "SpamComplaint": ("complained", "BouncedAt"),
    "Delivery": ("delivered", "DeliveredAt"),
    "Open": ("opened", "ReceivedAt"),
    "Click": ("clicked", "ReceivedAt"),
    "SubscriptionChange": ("unsubscribed", "ChangedAt"),
}
_WITH_ID = ("Bounce", "SpamComplaint")


def normalize(doc: Any) -> list[ProviderEventNormalized]:
    f = Fields.of(doc, PROVIDER, "")
    record = f.text("RecordType")
    if record not in _RECORDS:
        raise f.error("RecordType", f"is not a Postmark record type ({', '.join(_RECORDS)})")
    kind: EngagementType | None
    kind, time_key = _RECORDS[record]
    message_id = f.text("MessageID")
    occurred_at = f.iso_time(time_key)
    event_id = f.ident("ID") if record in _WITH_ID else derived_id(f, record, time_key)
    bounce_kind: BounceKind | None = None
    if record == "Bounce":
        kind, bounce_kind = _BOUNCE.get(f.text("Type"), _UNLISTED_BOUNCE)
    elif record == "SubscriptionChange" and not _unsubscribed(f):
        kind = None
    if kind is None:
        return []
    metadata = f.opt_obj("Metadata")
    return [
        ProviderEventNormalized(
            provider=PROVIDER,
            provider_event_id=event_id,
            type=kind,
            bounce_kind=bounce_kind,
            provider_message_id=message_id,
            occurred_at=occurred_at,
            aggregate_id=custom_arg(metadata, "aggregate_id"),
            idempotency_key=custom_arg(metadata, "idempotency_key"),
        )
    ]


def derived_id(f: Fields, record: str, time_key: str) -> str:
    """A stable id for a record Postmark sends without one (the same for every duplicate)."""
    parts = [record, f.text("MessageID"), f.text(time_key), f.opt_text("Recipient")]
    if record == "Click":
        parts.append(f.opt_text("OriginalLink"))
    # A JSON array keeps the parts apart (no separator can be forged inside a value); the
    # recipient only enters hashed, so the id does not carry the address in clear.
    digest = hashlib.sha256(orjson.dumps(parts)).hexdigest()
    return f"{record.lower()}-{digest[:40]}"


def _unsubscribed(f: Fields) -> bool:
    if not f.flag("SuppressSending"):
        return False
    return f.opt_text("SuppressionReason") not in ("HardBounce", "SpamComplaint")
