"""A click on an email's calendar link: redirect and record, or refuse and record nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from agents.engagement.core import EngagementState, contact_key_of, decide_event, on_send
from agents.sender.booking import BookingRedirect, BookingRefused, on_click
from agents.sender.calendar_link import sign, verify
from streams.contracts.exceptions import ConfigurationError
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.send import SendRecorded
from streams.kernel.settings import Settings

SECRET = b"calendar-secret-0123456789abcdef"
NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=30)
AGGREGATE = "seq-roofing-1:0123456789abcdef0123456789abcdef"
OTHER = "seq-roofing-1:fedcba9876543210fedcba9876543210"
HUB = "https://hub.example.com/calendar/book"
BOOKING = "https://book.example.com/meet?team=sales"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def click(link: str, *, now: datetime = NOW, secret: bytes = SECRET,
          booking: str | None = BOOKING) -> BookingRedirect | BookingRefused:
    return on_click(query(link), secret, booking, now)


LINK = sign(AGGREGATE, "cmp_7", EXPIRES, SECRET, base_url=HUB)


def test_a_good_link_redirects_with_the_signed_ids_and_records_a_click() -> None:
    outcome = click(LINK)
    assert isinstance(outcome, BookingRedirect)
    assert outcome.location.startswith(BOOKING + "&")
    passed = query(outcome.location)
    assert passed["team"] == ["sales"]
    assert {k: passed[k] for k in ("sid", "oid", "exp", "sig")} == {
        k: v for k, v in query(LINK).items()}
    # The booking page's callback can hand its own address back as the meeting's calendar link.
    assert verify(outcome.location, SECRET, NOW).sid == AGGREGATE
    event = outcome.click
    assert (event.provider, event.type, event.aggregate_id) == ("hub", "clicked", AGGREGATE)
    assert event.occurred_at == NOW
    assert event.calendar_link is None
    assert query(LINK)["sig"][0] not in event.provider_event_id


def test_a_booking_url_without_a_query_gets_one() -> None:
    outcome = click(LINK, booking="https://book.example.com/meet")
    assert isinstance(outcome, BookingRedirect)
    assert outcome.location.startswith("https://book.example.com/meet?sid=")


def test_a_second_click_on_the_same_link_is_the_same_event_another_emails_link_is_not() -> None:
    first, again = click(LINK), click(LINK, now=NOW + timedelta(hours=2))
    later_email = click(sign(AGGREGATE, "cmp_7", EXPIRES + timedelta(days=3), SECRET))
    assert isinstance(first, BookingRedirect) and isinstance(again, BookingRedirect)
    assert isinstance(later_email, BookingRedirect)
    assert first.click.provider_event_id == again.click.provider_event_id
    assert later_email.click.provider_event_id != first.click.provider_event_id


def params_changed(**changes: str) -> str:
    q = {k: v[0] for k, v in query(LINK).items()}
    return HUB + "?" + "&".join(f"{k}={v}" for k, v in {**q, **changes}.items())


@pytest.mark.parametrize("link", [
    pytest.param(sign(AGGREGATE, "cmp_7", EXPIRES, b"another-secret-0123456789abcdef"),
                 id="signed-with-another-secret"),
    pytest.param(params_changed(sid=OTHER), id="wrong-aggregate"),
    pytest.param(params_changed(oid="cmp_8"), id="other-company"),
    pytest.param(params_changed(exp=str(int(EXPIRES.timestamp()) + 86400)), id="longer-life"),
    pytest.param(params_changed(sig="A" * 43), id="made-up-signature"),
    pytest.param(HUB, id="no-parameters"),
    pytest.param(LINK + "&sid=" + OTHER, id="repeated-sid"),
])
def test_a_forged_or_tampered_link_is_refused(link: str) -> None:
    assert click(link) == BookingRefused(status=400, title="Invalid link", message=(
        "This booking link is not valid. Please use the link in the email exactly as it was "
        "sent."))


def test_an_expired_link_is_refused_as_expired() -> None:
    outcome = click(LINK, now=EXPIRES)
    assert isinstance(outcome, BookingRefused)
    assert outcome.status == 410
    assert "expired" in outcome.message


def test_a_signed_link_that_names_no_aggregate_is_refused() -> None:
    outcome = click(sign("not-an-aggregate", "cmp_7", EXPIRES, SECRET))
    assert isinstance(outcome, BookingRefused)
    assert outcome.status == 400


@pytest.mark.parametrize("booking", [None, ""])
def test_without_a_booking_page_a_good_link_records_nothing(booking: str | None) -> None:
    outcome = click(LINK, booking=booking)
    assert isinstance(outcome, BookingRefused)
    assert outcome.status == 503


def test_engagement_counts_the_click_as_engagement_once_never_as_a_meeting() -> None:
    outcome = click(LINK)
    assert isinstance(outcome, BookingRedirect)
    sent = SendRecorded(
        event_id="send-1", occurred_at=NOW - timedelta(days=1), correlation_id="corr-1",
        process_id="outreach-execution-send-20260301-0badc0de", aggregate_id=AGGREGATE,
        contact_key=contact_key_of(AGGREGATE), company_sov_id="cmp_7", campaign_id="camp-7",
        touch_index=1, idempotency_key="idem-1", status="sent", provider="smtp",
        provider_message_id="msg-1")
    state = on_send(EngagementState(), sent, STABLE_IDS).state
    first = decide_event(state, outcome.click, NOW, STABLE_IDS, SECRET)
    assert [(e.topic, getattr(e.event, "type", None) or getattr(e.event, "signal", None))
            for e in first.emits] == [("engagement_events", "clicked"), ("cl_signals", "engaged")]
    again = decide_event(first.state, outcome.click, NOW, STABLE_IDS, SECRET)
    assert again.emits == ()


@pytest.mark.parametrize(("raw", "accepted"), [
    ("https://book.example.com/meet?team=sales", True), ("http://10.0.0.5:8080/book", True),
    ("", True), ("javascript:alert(1)", False), ("book.example.com/meet", False),
    ("https://book.example.com/a b", False),
])
def test_the_booking_url_setting_is_an_http_address(raw: str, accepted: bool) -> None:
    env = {"OUTREACH_BOOKING_URL": raw}
    if accepted:
        assert Settings.from_env(env).booking_url == raw
    else:
        with pytest.raises(ConfigurationError):
            Settings.from_env(env)
