"""SendGrid signed event webhook: ECDSA P-256 / SHA-256 over the timestamp header + the raw body.

Headers ``X-Twilio-Email-Event-Webhook-Signature`` (base64 DER signature) and
``X-Twilio-Email-Event-Webhook-Timestamp`` (unix seconds). The verification key is the one
SendGrid shows on the signed webhook's settings page: base64 DER, or the same as PEM.

Decisions:
- The body is verified byte for byte as received: parsing and re-serialising first would change
  the bytes SendGrid signed.
- SendGrid signs each attempt with the time of the attempt, so its retries (for up to a day)
  are fresh; the timestamp bound is the only replay defence, since SendGrid signs no delivery
  id: a post replayed within the bound is produced again and the engagement stage dedupes
  it on ``sg_event_id``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from agents.engagement.ingress import check_fresh, malformed, unauthorized

PROVIDER = "sendgrid"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def load_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key from its setting; ValueError names what is wrong, not the value."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error, TypeError):
        raise ValueError("is not a public key (base64 DER or PEM)") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("is not an ECDSA P-256 public key")
    return key


def verify(key: ec.EllipticCurvePublicKey, headers: Mapping[str, str], body: bytes,
           now: float, max_age: float) -> None:
    """Raises Refused unless ``body`` is SendGrid's, signed within ``max_age`` of ``now``."""
    signature = headers.get(SIGNATURE)
    timestamp = headers.get(TIMESTAMP)
    if not signature or not timestamp:
        raise unauthorized(f"unsigned: {SIGNATURE} or {TIMESTAMP} missing")
    try:
        signed_at = int(timestamp.strip())
        raw = base64.b64decode(signature.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise unauthorized("signature or timestamp header is not well-formed") from None
    try:
        key.verify(raw, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise unauthorized("signature does not verify") from None
    check_fresh(signed_at, now, max_age, "signed timestamp")
    if not body.strip():
        raise malformed("body is empty")
