"""SendGrid's signed event webhook: only a body SendGrid signed, recently, gets through."""

from __future__ import annotations

import time

import pytest
from webhook_signing import fixture, sendgrid_headers, sendgrid_keys

from agents.engagement.ingress import Refused, sendgrid

NOW = time.time()
BODY = fixture("sendgrid_batch.json")


def refusal(headers: dict[str, str], body: bytes = BODY, now: float = NOW) -> Refused:
    _, public = sendgrid_keys()
    with pytest.raises(Refused) as caught:
        sendgrid.verify(sendgrid.load_key(public), headers, body, now, 300)
    return caught.value


def test_a_body_sendgrid_signed_is_accepted() -> None:
    private, public = sendgrid_keys()
    headers = sendgrid_headers(private, BODY, NOW - 10)
    sendgrid.verify(sendgrid.load_key(public), headers, BODY, NOW, 300)


def test_the_key_is_read_as_pem_too() -> None:
    from cryptography.hazmat.primitives import serialization

    private, _ = sendgrid_keys()
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    sendgrid.verify(sendgrid.load_key(pem), sendgrid_headers(private, BODY, NOW), BODY, NOW, 300)


def test_another_key_is_forged() -> None:
    forger, _ = sendgrid_keys()
    refused = refusal(sendgrid_headers(forger, BODY, NOW))
    assert (refused.status, refused.reason) == (401, "signature does not verify")


def test_a_tampered_body_is_refused() -> None:
    private, public = sendgrid_keys()
    headers = sendgrid_headers(private, BODY, NOW)
    tampered = BODY.replace(b'"processed"', b'"unsubscribe"', 1)
    with pytest.raises(Refused, match="does not verify"):
        sendgrid.verify(sendgrid.load_key(public), headers, tampered, NOW, 300)


def test_a_moved_timestamp_is_refused() -> None:
    private, public = sendgrid_keys()
    headers = sendgrid_headers(private, BODY, NOW - 3600)
    headers[sendgrid.TIMESTAMP] = str(int(NOW))  # the signature covers the timestamp
    with pytest.raises(Refused, match="does not verify"):
        sendgrid.verify(sendgrid.load_key(public), headers, BODY, NOW, 300)


@pytest.mark.parametrize("age", [301, -301, 86400])
def test_a_stale_or_future_signature_is_refused(age: int) -> None:
    private, public = sendgrid_keys()
    headers = sendgrid_headers(private, BODY, NOW - age)
    with pytest.raises(Refused) as caught:
        sendgrid.verify(sendgrid.load_key(public), headers, BODY, NOW, 300)
    assert caught.value.status == 401 and "bound 300s" in caught.value.reason


@pytest.mark.parametrize("missing", [sendgrid.SIGNATURE, sendgrid.TIMESTAMP])
def test_missing_headers_are_unsigned(missing: str) -> None:
    private, _ = sendgrid_keys()
    headers = sendgrid_headers(private, BODY, NOW)
    del headers[missing]
    refused = refusal(headers)
    assert refused.status == 401 and refused.reason.startswith("unsigned")


def test_garbage_headers_are_refused_without_quoting_them() -> None:
    refused = refusal({sendgrid.SIGNATURE: "jane@example.com", sendgrid.TIMESTAMP: "soon"})
    assert refused.status == 401 and "@" not in refused.reason


@pytest.mark.parametrize("text", ["", "not base64!", "aGVsbG8="])
def test_a_key_that_is_no_p256_key_is_refused_at_start(text: str) -> None:
    with pytest.raises(ValueError, match="key"):
        sendgrid.load_key(text)
