"""Desk sessions and form tokens: what a forged cookie, an expired or logged-out one, a
missing, foreign or replayed form token get (pure, no worker)."""

from __future__ import annotations

import hashlib

import pytest

from streams.desk.sessions import (
    NONCES_PER_SESSION,
    FormRefused,
    OneTimeCodes,
    Sessions,
    cookie_secure,
    parse_one_time_codes,
)

KEY = b"k" * 32
NOW = 1_800_000_000.0


def test_a_cookie_proves_its_operator_until_it_expires() -> None:
    sessions = Sessions(KEY, 3600)
    session, cookie = sessions.issue("ann", NOW)
    assert sessions.verify(cookie, NOW + 10) == session
    assert session.operator == "ann" and session.expires == NOW + 3600
    assert sessions.verify(cookie, NOW + 3600) is None  # expired exactly at its expiry


@pytest.mark.parametrize("tamper", [
    lambda c: c.replace(".ann.", ".bob."),  # another operator, the same signature
    lambda c: ".".join([*c.split(".")[:2], str(int(c.split(".")[2]) + 3600), c.split(".")[3]]),
    lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # the signature changed
    lambda c: c + ".extra",
    lambda c: "",
    lambda c: "not-a-cookie",
])
def test_a_tampered_or_forged_cookie_is_no_session(tamper: object) -> None:
    sessions = Sessions(KEY, 3600)
    _, cookie = sessions.issue("ann", NOW)
    assert sessions.verify(tamper(cookie), NOW + 1) is None  # type: ignore[operator]


def test_a_cookie_signed_with_another_key_is_no_session() -> None:
    _, cookie = Sessions(b"x" * 32, 3600).issue("ann", NOW)
    assert Sessions(KEY, 3600).verify(cookie, NOW + 1) is None


def test_a_logged_out_cookie_is_refused_although_its_signature_verifies() -> None:
    sessions = Sessions(KEY, 3600)
    session, cookie = sessions.issue("ann", NOW)
    other, other_cookie = sessions.issue("ann", NOW)
    sessions.revoke(session, NOW + 5)
    assert sessions.verify(cookie, NOW + 6) is None
    assert sessions.verify(other_cookie, NOW + 6) == other  # only that login ends


def test_a_form_token_works_once_and_only_for_its_session() -> None:
    sessions = Sessions(KEY, 3600)
    session, _ = sessions.issue("ann", NOW)
    other, _ = sessions.issue("bob", NOW)
    token = sessions.form_token(session)
    with pytest.raises(FormRefused, match="not valid for this session"):
        sessions.spend(other, token)  # another session's form
    sessions.spend(session, token)
    with pytest.raises(FormRefused, match="already sent once"):
        sessions.spend(session, token)  # the replayed form


@pytest.mark.parametrize("token", [None, "", "nonce-only", "nonce.", ".mac", "a.b.c"])
def test_a_missing_or_made_up_form_token_is_refused(token: str | None) -> None:
    sessions = Sessions(KEY, 3600)
    session, _ = sessions.issue("ann", NOW)
    with pytest.raises(FormRefused):
        sessions.spend(session, token)


def test_every_rendered_form_gets_its_own_token() -> None:
    sessions = Sessions(KEY, 3600)
    session, _ = sessions.issue("ann", NOW)
    first, second = sessions.form_token(session), sessions.form_token(session)
    assert first != second
    sessions.spend(session, first)
    sessions.spend(session, second)  # the page's other form still works


def test_the_used_nonces_a_session_keeps_are_bounded() -> None:
    sessions = Sessions(KEY, 3600)
    session, _ = sessions.issue("ann", NOW)
    for n in range(NONCES_PER_SESSION + 10):
        sessions.spend(session, sessions.form_token(session, nonce=f"n{n}"))
    assert len(sessions._used[session.sid]) == NONCES_PER_SESSION


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        Sessions(b"short", 3600)


def test_a_one_time_code_logs_in_once() -> None:
    digest = hashlib.sha256(b"the-code-0123").hexdigest()
    codes = OneTimeCodes(parse_one_time_codes(f"demo:{digest}"))
    assert codes.redeem("wrong") is None
    assert codes.redeem("the-code-0123") == "demo"
    assert codes.redeem("the-code-0123") is None


@pytest.mark.parametrize("raw", ["demo", "demo:abc", f"bad name:{'0' * 64}"])
def test_a_malformed_one_time_code_entry_is_named_by_position(raw: str) -> None:
    with pytest.raises(ValueError, match="entry 1") as caught:
        parse_one_time_codes(raw)
    assert "0" * 64 not in str(caught.value)


def test_the_cookie_is_secure_when_the_public_url_is_https() -> None:
    assert cookie_secure("https://hub.example.com")
    assert cookie_secure("HTTPS://hub.example.com/")
    assert not cookie_secure("http://127.0.0.1:6066")
