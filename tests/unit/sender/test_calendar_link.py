"""Signed meeting-booking links: sign/verify round trip, tampering, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.sender.calendar_link import CalendarClaim, sign, verify
from agents.sender.exceptions import CalendarLinkExpired, InvalidCalendarSignature
from streams.contracts.exceptions import ConfigurationError

SECRET = b"calendar-secret-0123456789abcdef"
NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=7)
BASE = "https://hub.example.com/calendar/book"


def params_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def with_params(url: str, **changes: str) -> str:
    return BASE + "?" + urlencode({**params_of(url), **changes})


def test_round_trip_returns_the_claim() -> None:
    url = sign("seq-roofing:c0ffee", "out-7", EXPIRES, SECRET, base_url=BASE)
    assert url.startswith(BASE + "?")
    assert set(params_of(url)) == {"sid", "oid", "exp", "sig"}
    assert verify(url, SECRET, NOW) == CalendarClaim(
        sid="seq-roofing:c0ffee", oid="out-7", expires_at=EXPIRES
    )


def test_verify_accepts_query_string_and_mappings() -> None:
    url = sign("s1", "o1", EXPIRES, SECRET, base_url=BASE)
    query = urlsplit(url).query
    assert verify(query, SECRET, NOW).sid == "s1"
    assert verify(params_of(url), SECRET, NOW).oid == "o1"
    assert verify(parse_qs(query), SECRET, NOW).oid == "o1"  # aiohttp/framework multi-dicts


def test_base_url_with_query_and_awkward_ids() -> None:
    url = sign("a b&c=d/é", "o?#%", EXPIRES, SECRET, base_url=BASE + "?src=email")
    claim = verify(url, SECRET, NOW)
    assert (claim.sid, claim.oid) == ("a b&c=d/é", "o?#%")


def test_expiry_floors_to_the_second() -> None:
    url = sign("s", "o", EXPIRES + timedelta(microseconds=999_999), SECRET)
    assert verify(url, SECRET, NOW).expires_at == EXPIRES


@pytest.mark.parametrize(
    "changes",
    [
        {"sid": "seq-other:c0ffee"},
        {"oid": "out-8"},
        {"exp": str(int(EXPIRES.timestamp()) + 86_400)},
        {"exp": "0" + str(int(EXPIRES.timestamp()))},  # same number, not what was signed
        {"sig": "A" * 43},
        {"sig": ""},
    ],
)
def test_tampered_links_are_rejected(changes: dict[str, str]) -> None:
    url = sign("seq-roofing:c0ffee", "out-7", EXPIRES, SECRET, base_url=BASE)
    with pytest.raises(InvalidCalendarSignature):
        verify(with_params(url, **changes), SECRET, NOW)


def test_other_secret_is_rejected() -> None:
    url = sign("s", "o", EXPIRES, SECRET)
    with pytest.raises(InvalidCalendarSignature):
        verify(url, b"another-secret-0123456789abcdef", NOW)


@pytest.mark.parametrize(
    "query", ["sid=s&oid=o&exp=1", "", "sid=s&sid=t&oid=o&exp=1&sig=x", "not a url at all"]
)
def test_missing_or_repeated_params_are_rejected(query: str) -> None:
    with pytest.raises(InvalidCalendarSignature):
        verify(query, SECRET, NOW)


def test_expired_at_exactly_exp_and_valid_one_second_before() -> None:
    url = sign("s", "o", EXPIRES, SECRET)
    assert verify(url, SECRET, EXPIRES - timedelta(seconds=1)).sid == "s"
    with pytest.raises(CalendarLinkExpired):
        verify(url, SECRET, EXPIRES)
    with pytest.raises(CalendarLinkExpired):
        verify(url, SECRET, EXPIRES + timedelta(days=30))


def test_tampered_and_expired_reports_the_signature() -> None:
    url = sign("s", "o", EXPIRES, SECRET, base_url=BASE)
    with pytest.raises(InvalidCalendarSignature):
        verify(with_params(url, oid="x"), SECRET, EXPIRES + timedelta(days=1))


def test_sign_rejects_ambiguous_ids_naive_times_and_short_secrets() -> None:
    with pytest.raises(ValueError):
        sign("a|b", "o", EXPIRES, SECRET)
    with pytest.raises(ValueError):
        sign("s", "", EXPIRES, SECRET)
    with pytest.raises(ValueError):
        sign("s", "o", EXPIRES.replace(tzinfo=None), SECRET)
    with pytest.raises(ConfigurationError):
        sign("s", "o", EXPIRES, b"short")
    with pytest.raises(ConfigurationError):
        verify("sid=s&oid=o&exp=1&sig=x", b"short", NOW)


ids = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="|"), min_size=1, max_size=40
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_character_change_to_the_signature_fails(data: st.DataObject) -> None:
    url = sign("seq-roofing:c0ffee", "out-7", EXPIRES, SECRET, base_url=BASE)
    sig = params_of(url)["sig"]
    i = data.draw(st.integers(0, len(sig) - 1), label="position")
    char = data.draw(
        st.characters(blacklist_categories=("Cs",)).filter(lambda c: c != sig[i]), label="char"
    )
    forged = sig[:i] + char + sig[i + 1 :]
    with pytest.raises(InvalidCalendarSignature):
        verify(with_params(url, sig=forged), SECRET, NOW)


@settings(max_examples=200, deadline=None)
@given(sid=ids, oid=ids, days=st.integers(1, 3650))
def test_round_trip_for_any_ids(sid: str, oid: str, days: int) -> None:
    url = sign(sid, oid, NOW + timedelta(days=days), SECRET, base_url=BASE)
    claim = verify(url, SECRET, NOW)
    assert (claim.sid, claim.oid) == (sid, oid)
