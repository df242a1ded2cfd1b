"""Mailgun's HMAC webhook signature: signed by the key, fresh, and every token used once."""

from __future__ import annotations

import time

import orjson
import pytest
from webhook_signing import fixture, mailgun_signed

from agents.engagement.ingress import Refused, SeenIds, mailgun

KEY = b"key-0123456789abcdef0123456789abcdef"
NOW = time.time()
DOC = orjson.loads(fixture("mailgun_opened.json"))


def verify(doc: object, seen: SeenIds | None = None, now: float = NOW) -> str:
    return mailgun.verify(KEY, doc, now, 300, SeenIds(300) if seen is None else seen)


def test_a_post_signed_with_the_key_is_accepted() -> None:
    token = verify(mailgun_signed(KEY, DOC, NOW - 5, token="t1"))
    assert token == "t1"


def test_another_key_is_forged() -> None:
    with pytest.raises(Refused, match="does not verify") as caught:
        verify(mailgun_signed(b"another-key", DOC, NOW))
    assert caught.value.status == 401


def test_a_signature_moved_to_another_token_is_refused() -> None:
    doc = mailgun_signed(KEY, DOC, NOW)
    doc["signature"] = {**doc["signature"], "token": "another-token"}
    with pytest.raises(Refused, match="does not verify"):
        verify(doc)


def test_a_stale_post_is_refused() -> None:
    with pytest.raises(Refused, match="bound 300s"):
        verify(mailgun_signed(KEY, DOC, NOW - 301))


def test_a_replayed_token_is_refused_and_a_released_one_is_not() -> None:
    seen = SeenIds(300)
    doc = mailgun_signed(KEY, DOC, NOW)
    verify(doc, seen)
    with pytest.raises(Refused, match="replayed") as caught:
        verify(doc, seen, NOW + 1)
    assert caught.value.status == 401
    seen.release(f"mailgun:{doc['signature']['token']}")  # producing it failed
    verify(doc, seen, NOW + 2)


def test_a_forged_post_spends_no_token() -> None:
    seen = SeenIds(300)
    real = mailgun_signed(KEY, DOC, NOW, token="t-real")
    forged = mailgun_signed(b"another-key", DOC, NOW, token="t-real")
    with pytest.raises(Refused):
        verify(forged, seen)
    verify(real, seen)


@pytest.mark.parametrize("part", ["timestamp", "token", "signature"])
def test_a_missing_part_is_unsigned(part: str) -> None:
    doc = mailgun_signed(KEY, DOC, NOW)
    del doc["signature"][part]
    with pytest.raises(Refused, match="unsigned") as caught:
        verify(doc)
    assert caught.value.status == 401


def test_no_signature_object_is_unsigned_and_no_event_data_is_malformed() -> None:
    with pytest.raises(Refused, match="unsigned"):
        verify({"event-data": DOC["event-data"]})
    with pytest.raises(Refused) as caught:
        verify({"signature": DOC["signature"]})
    assert caught.value.status == 400
    with pytest.raises(Refused) as caught:
        verify([DOC])
    assert caught.value.status == 400
