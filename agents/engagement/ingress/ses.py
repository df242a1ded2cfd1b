"""Amazon SES through SNS: the SNS message signature, RSA with the certificate at SigningCertURL.

SignatureVersion 1 signs with SHA1, 2 with SHA256 (PKCS#1 v1.5), over ``Key\\nValue\\n`` of the
envelope's fields in a fixed order (``_SIGNED``). ``preflight`` checks a post before anything
is fetched for it; the page fetches the certificate; ``verify`` checks the signature.

Decisions:
- Only topics named in a setting are accepted. SNS signs every topic's messages with the same
  AWS certificate, so a valid signature proves SNS sent the post, not that it is the hub's
  topic: without the list anyone could subscribe the endpoint to a topic of their own and
  publish made-up SES events, signed by AWS.
- The certificate (and the SubscribeURL) must be https on ``sns.<region>.amazonaws.com`` (or
  ``.amazonaws.com.cn``), or on a host of the trusted-hosts setting. The region is matched as
  a region (``us-east-1``, ``us-gov-west-1``): a looser label would also match an S3 bucket's
  legacy host (``sns.s3.amazonaws.com``), whose content anyone can put there.
- The certificate is checked for its validity dates; the https fetch from a pinned AWS host is
  what vouches for its issuer.
- SNS keeps the ``Timestamp`` of the publication on its retries: a delivery policy retrying
  for longer than the bound has its late retries refused as stale; set the bound above it.
- Subscription and unsubscribe confirmations are signed like notifications and go through
  the same checks; the page confirms a subscription only once they hold.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from agents.engagement.ingress import SeenIds, check_fresh, malformed, unauthorized

PROVIDER = "ses"
NOTIFICATION = "Notification"
SUBSCRIBE = "SubscriptionConfirmation"
UNSUBSCRIBE = "UnsubscribeConfirmation"

_SIGNED = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIBE: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    UNSUBSCRIBE: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                  "Type"),
}
_OPTIONAL = frozenset({"Subject"})
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_AWS_HOST = re.compile(
    r"^sns\.[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+\.amazonaws\.com(?:\.cn)?$"
)


@dataclass(frozen=True, slots=True)
class SnsMessage:
    type: str
    message_id: str
    subscribe_url: str | None


def parse_list(text: str) -> frozenset[str]:
    """A comma-separated setting as a set (topic ARNs, trusted hosts)."""
    return frozenset(p.strip() for p in text.split(",") if p.strip())


def trusted_url(url: Any, trusted_hosts: frozenset[str], what: str) -> str:
    if not isinstance(url, str) or not url:
        raise unauthorized(f"unsigned: {what} missing")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise unauthorized(f"{what} is not a URL") from None
    if parts.scheme != "https" or parts.username or parts.password:
        raise unauthorized(f"{what} is not a plain https URL")
    if not (_AWS_HOST.match(host) or host in trusted_hosts):
        raise unauthorized(f"{what} is not on an SNS host nor on a trusted host")
    return url


def preflight(doc: Any, topic_arns: frozenset[str], trusted_hosts: frozenset[str]) -> str:
    """The certificate URL to fetch for ``doc``; raises Refused before any fetch is made."""
    if not isinstance(doc, dict):
        raise malformed("body is not a JSON object")
    kind = doc.get("Type")
    if kind not in _SIGNED:
        raise malformed("Type is not an SNS Notification or (Un)SubscriptionConfirmation")
    missing = [k for k in _SIGNED[kind] if k not in _OPTIONAL and not isinstance(doc.get(k), str)]
    if missing:
        raise malformed(f"{', '.join(missing)} missing or not a string")
    if not doc.get("Signature") or not isinstance(doc.get("Signature"), str):
        raise unauthorized("unsigned: Signature missing")
    if str(doc.get("SignatureVersion")) not in _HASHES:
        raise unauthorized("SignatureVersion is neither 1 nor 2")
    if doc["TopicArn"] not in topic_arns:
        raise unauthorized("TopicArn is not one of the accepted topics")
    if kind != NOTIFICATION:
        trusted_url(doc["SubscribeURL"], trusted_hosts, "SubscribeURL")
    return trusted_url(doc.get("SigningCertURL"), trusted_hosts, "SigningCertURL")


def string_to_sign(doc: dict[str, Any]) -> bytes:
    fields = (k for k in _SIGNED[doc["Type"]] if isinstance(doc.get(k), str))
    return "".join(f"{k}\n{doc[k]}\n" for k in fields).encode()


def verify(doc: dict[str, Any], cert_pem: bytes, now: float, max_age: float,
           seen: SeenIds) -> SnsMessage:
    """Raises Refused unless SNS signed ``doc`` with ``cert_pem`` within ``max_age`` of
    ``now`` and its MessageId is new; ``doc`` has passed ``preflight``."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise unauthorized("the signing certificate is not a PEM certificate") from None
    moment = datetime.fromtimestamp(now, cert.not_valid_after_utc.tzinfo)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        raise unauthorized("the signing certificate is outside its validity dates")
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise unauthorized("the signing certificate's key is not RSA")
    try:
        signature = base64.b64decode(doc["Signature"], validate=True)
    except (ValueError, binascii.Error):
        raise unauthorized("Signature is not base64") from None
    algorithm = _HASHES[str(doc["SignatureVersion"])]()
    try:
        key.verify(signature, string_to_sign(doc), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise unauthorized("signature does not verify") from None
    try:
        stamp = datetime.fromisoformat(doc["Timestamp"])
    except ValueError:
        raise unauthorized("Timestamp is not an ISO 8601 time") from None
    # SNS writes UTC with a Z; a time without an offset is read as UTC, never as local time.
    signed_at = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    check_fresh(signed_at, now, max_age, "Timestamp")
    seen.claim(f"{PROVIDER}:{doc['MessageId']}", now)
    return SnsMessage(doc["Type"], doc["MessageId"], doc.get("SubscribeURL"))
