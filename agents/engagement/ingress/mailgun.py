"""Mailgun webhooks: HMAC-SHA256 of ``timestamp + token`` with the webhook signing key.

The body carries ``{"signature": {"timestamp", "token", "signature"}, "event-data": {...}}``.

Decisions:
- The signature covers the timestamp and token, not the event: it proves the post is
  Mailgun's and fresh. The token (unique per post) is then single-use, so a captured post
  cannot be sent again within the bound, and its signature cannot be moved onto a forged
  event once the real post has arrived; past the bound it is stale.
- The token is claimed only after the signature and the timestamp hold: an unsigned flood
  cannot fill the memory with tokens that would refuse Mailgun's real ones.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from agents.engagement.ingress import SeenIds, check_fresh, malformed, unauthorized

PROVIDER = "mailgun"


def signature_of(key: bytes, timestamp: str, token: str) -> str:
    return hmac.new(key, (timestamp + token).encode(), hashlib.sha256).hexdigest()


def verify(key: bytes, doc: Any, now: float, max_age: float, seen: SeenIds) -> str:
    """The post's token, claimed in ``seen``; raises Refused unless ``doc`` is Mailgun's,
    signed within ``max_age`` of ``now`` and not seen before."""
    if not isinstance(doc, dict):
        raise malformed("body is not a JSON object")
    if "event-data" not in doc:
        raise malformed("event-data is missing")
    sig = doc.get("signature")
    if not isinstance(sig, dict):
        raise unauthorized("unsigned: the signature object is missing")
    timestamp, token, signature = (sig.get(k) for k in ("timestamp", "token", "signature"))
    # Mailgun sends the timestamp as a string; a number is read as the same digits.
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)
    if not all(isinstance(v, str) and v for v in (timestamp, token, signature)):
        raise unauthorized("unsigned: signature.timestamp, .token or .signature missing")
    assert isinstance(timestamp, str) and isinstance(token, str) and isinstance(signature, str)
    expected = signature_of(key, timestamp, token)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
        raise unauthorized("signature does not verify")
    try:
        signed_at = float(timestamp)
    except ValueError:
        raise unauthorized("signature.timestamp is not unix seconds") from None
    check_fresh(signed_at, now, max_age, "signature.timestamp")
    seen.claim(f"{PROVIDER}:{token}", now)
    return token
