"""A click on an email's calendar link, pure: verify it, then redirect and record, or refuse.

The link (``calendar_link.sign``) names the sequence aggregate it was sent for. An authentic,
unexpired link for an aggregate is recorded as a hub-form ``clicked`` provider event (the
engagement stage counts it as engagement, never as a booked meeting) and redirected to the
booking page with ``sid``, ``oid``, ``exp`` and ``sig`` passed through unchanged: that URL is
itself a valid ``calendar_link`` for the ``meeting_booked`` event the booking page's callback
publishes, which engagement verifies again. Anything else is refused with a status and a
sentence for the person who clicked, and records nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

from agents.sender.calendar_link import CalendarClaim, sign, verify
from agents.sender.exceptions import CalendarLinkExpired, InvalidCalendarSignature
from streams.contracts.models.base import Frozen
from streams.contracts.models.engagement import ProviderEventNormalized

PROVIDER = "hub"


class BookingRedirect(Frozen):
    location: str
    click: ProviderEventNormalized


class BookingRefused(Frozen):
    status: int
    title: str
    message: str


INVALID = BookingRefused(status=400, title="Invalid link",
                         message="This booking link is not valid. Please use the link in the "
                                 "email exactly as it was sent.")
EXPIRED = BookingRefused(status=410, title="Link expired",
                         message="This booking link has expired. Please reply to the email to "
                                 "find a time.")
NOT_AN_AGGREGATE = BookingRefused(status=400, title="Invalid link",
                                  message="This booking link does not belong to an email of "
                                          "ours.")
NO_BOOKING_PAGE = BookingRefused(status=503, title="Booking unavailable",
                                 message="Booking is not available at the moment. Please reply "
                                         "to the email to find a time.")


def click_event_id(claim: CalendarClaim) -> str:
    """One id per link: a second click on the same link is a duplicate for engagement, a click
    on another email's link is a click of its own. A hash, so the signature (which would let
    anyone who reads the topic book in the person's name) never reaches the topic."""
    exp = int(claim.expires_at.timestamp())
    digest = hashlib.sha256(f"{claim.sid}|{claim.oid}|{exp}".encode()).hexdigest()[:32]
    return f"calendar-click-{digest}"


def _is_aggregate(sid: str) -> bool:
    # `{sequence_id}-{run}:{contact_key}`: engagement routes the click by the contact key.
    sequence, _, contact_key = sid.rpartition(":")
    return bool(sequence) and bool(contact_key)


def on_click(
    query: Mapping[str, str | Sequence[str]],
    secret: bytes,
    booking_url: str | None,
    now: datetime,
) -> BookingRedirect | BookingRefused:
    """The answer to a click on ``/calendar/book?<query>``."""
    try:
        claim = verify(query, secret, now)
    except CalendarLinkExpired:
        return EXPIRED
    except InvalidCalendarSignature:
        return INVALID
    if not _is_aggregate(claim.sid):
        return NOT_AN_AGGREGATE
    if not booking_url:
        return NO_BOOKING_PAGE
    click = ProviderEventNormalized(
        provider=PROVIDER, provider_event_id=click_event_id(claim), type="clicked",
        occurred_at=now, aggregate_id=claim.sid)
    # Signing the verified claim again yields the link's own sid, oid, exp and sig, on the
    # booking page's address.
    location = sign(claim.sid, claim.oid, claim.expires_at, secret, base_url=booking_url)
    return BookingRedirect(location=location, click=click)
