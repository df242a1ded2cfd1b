"""SES through SNS: an SNS signature by a certificate from a pinned host, on an accepted topic."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from webhook_signing import fixture, iso, sns_certificate, sns_signed

from agents.engagement.ingress import Refused, SeenIds, ses

NOW = time.time()
TOPIC = "arn:aws:sns:us-east-1:123456789012:outreach-ses-events"
TOPICS = frozenset({TOPIC})
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem"
KEY, CERT = sns_certificate("sns.amazonaws.com")


def notification(at: float = NOW, **changes: Any) -> dict[str, Any]:
    doc = orjson.loads(fixture("ses_open.json"))
    doc.pop("Signature")
    return {**doc, "TopicArn": TOPIC, "Timestamp": iso(at), "SigningCertURL": CERT_URL,
            **changes}


def accept(doc: dict[str, Any], seen: SeenIds | None = None, cert: bytes = CERT,
           now: float = NOW) -> ses.SnsMessage:
    assert ses.preflight(doc, TOPICS, frozenset()) == doc["SigningCertURL"]
    return ses.verify(doc, cert, now, 300, SeenIds(300) if seen is None else seen)


def refusal(doc: Any, **kwargs: Any) -> Refused:
    with pytest.raises(Refused) as caught:
        accept(doc, **kwargs)
    return caught.value


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_notification_sns_signed_is_accepted(version: str) -> None:
    message = accept(sns_signed(KEY, notification(NOW - 5), version))
    assert (message.type, message.message_id) == ("Notification", notification()["MessageId"])


def test_a_subject_is_part_of_what_is_signed() -> None:
    doc = sns_signed(KEY, notification(Subject="Amazon SES Email Event Notification"))
    accept(doc)
    assert refusal({**doc, "Subject": "other"}).reason == "signature does not verify"


def test_another_key_is_forged() -> None:
    forger, _ = sns_certificate("sns.amazonaws.com")
    refused = refusal(sns_signed(forger, notification()))
    assert (refused.status, refused.reason) == (401, "signature does not verify")


def test_a_tampered_message_is_refused() -> None:
    doc = sns_signed(KEY, notification())
    doc["Message"] = doc["Message"].replace('"Open"', '"Complaint"')
    assert refusal(doc).reason == "signature does not verify"


def test_a_version_1_signature_relabelled_2_is_refused() -> None:
    doc = sns_signed(KEY, notification(), "1")
    assert refusal({**doc, "SignatureVersion": "2"}).status == 401


def test_a_stale_notification_is_refused() -> None:
    refused = refusal(sns_signed(KEY, notification(NOW - 301)))
    assert refused.status == 401 and "bound 300s" in refused.reason


def test_a_replayed_message_id_is_refused() -> None:
    seen = SeenIds(300)
    doc = sns_signed(KEY, notification())
    accept(doc, seen)
    assert "replayed" in refusal(doc, seen=seen, now=NOW + 1).reason


def test_an_expired_certificate_is_refused() -> None:
    refused = refusal(sns_signed(KEY, notification(NOW + 40 * 86400)),
                      now=NOW + 40 * 86400)
    assert "validity" in refused.reason


@pytest.mark.parametrize("field", ["Signature", "SigningCertURL"])
def test_a_missing_signature_is_unsigned(field: str) -> None:
    doc = sns_signed(KEY, notification())
    del doc[field]
    with pytest.raises(Refused, match="unsigned") as caught:
        ses.preflight(doc, TOPICS, frozenset())
    assert caught.value.status == 401


def test_a_topic_not_accepted_is_refused_before_any_fetch() -> None:
    doc = sns_signed(KEY, notification(TopicArn="arn:aws:sns:us-east-1:999:theirs"))
    with pytest.raises(Refused, match="TopicArn"):
        ses.preflight(doc, TOPICS, frozenset())


@pytest.mark.parametrize("url", [
    "http://sns.us-east-1.amazonaws.com/cert.pem",
    "https://sns.s3.amazonaws.com/cert.pem",
    "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
    "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
    "https://user@sns.us-east-1.amazonaws.com/cert.pem",
    "https://localhost/cert.pem",
])
def test_a_certificate_off_the_sns_hosts_is_never_fetched(url: str) -> None:
    doc = sns_signed(KEY, notification(SigningCertURL=url))
    with pytest.raises(Refused) as caught:
        ses.preflight(doc, TOPICS, frozenset())
    assert caught.value.status == 401


@pytest.mark.parametrize("host", ["sns.eu-central-1.amazonaws.com",
                                  "sns.us-gov-west-1.amazonaws.com",
                                  "sns.cn-north-1.amazonaws.com.cn"])
def test_every_sns_region_is_trusted(host: str) -> None:
    url = f"https://{host}/SimpleNotificationService-1.pem"
    assert ses.trusted_url(url, frozenset(), "SigningCertURL") == url


def test_a_trusted_host_setting_adds_a_host() -> None:
    url = "https://localhost:8443/cert.pem"
    assert ses.trusted_url(url, frozenset({"localhost"}), "SigningCertURL") == url


def subscription(kind: str = "SubscriptionConfirmation", **changes: Any) -> dict[str, Any]:
    doc = orjson.loads(fixture("ses_subscription_confirmation.json"))
    doc.pop("Signature", None)
    return {**doc, "Type": kind, "TopicArn": TOPIC, "Timestamp": iso(NOW),
            "SigningCertURL": CERT_URL, **changes}


@pytest.mark.parametrize("kind", ["SubscriptionConfirmation", "UnsubscribeConfirmation"])
def test_confirmations_are_signed_like_notifications(kind: str) -> None:
    doc = sns_signed(KEY, subscription(kind), "2")
    message = accept(doc)
    assert (message.type, message.subscribe_url) == (kind, doc["SubscribeURL"])
    assert refusal({**doc, "Token": "another"}).reason == "signature does not verify"


def test_a_subscribe_url_off_the_sns_hosts_is_refused() -> None:
    doc = sns_signed(KEY, subscription(SubscribeURL="https://evil.example/confirm"))
    with pytest.raises(Refused, match="SubscribeURL"):
        ses.preflight(doc, TOPICS, frozenset())


@pytest.mark.parametrize("doc", [[], {"Type": "Nonsense"}, {"Type": "Notification"}])
def test_what_is_not_an_sns_message_is_malformed(doc: Any) -> None:
    with pytest.raises(Refused) as caught:
        ses.preflight(doc, TOPICS, frozenset())
    assert caught.value.status == 400


def test_an_unreadable_certificate_is_refused() -> None:
    assert "PEM" in refusal(sns_signed(KEY, notification()), cert=b"<html>").reason
