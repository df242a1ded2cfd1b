"""Postmark webhooks: HTTP basic auth, with the user and password set on the webhook's URL.

Decisions:
- Postmark signs nothing and sends no timestamp, so there is no freshness to check: the
  credentials are the whole proof, and TLS (the public URL is https) keeps them secret.
  Redeliveries are deduped downstream on the event id (derived ids are stable).
- The whole ``user:password`` pair is compared in constant time, in one comparison, so
  neither which half was wrong nor how much of it matched shows in the timing.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from agents.engagement.ingress import unauthorized

PROVIDER = "postmark"
CHALLENGE = 'Basic realm="outreach-hub webhooks", charset="UTF-8"'


def authorization(user: str, password: str) -> str:
    """The Authorization header value for these credentials."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def verify(user: str, password: str, headers: Mapping[str, str]) -> None:
    """Raises Refused unless the request carries exactly these basic-auth credentials."""
    header = headers.get("Authorization")
    if not header:
        raise unauthorized("unsigned: no Authorization header")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise unauthorized("Authorization is not Basic")
    try:
        given = base64.b64decode(value.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise unauthorized("Authorization is not base64") from None
    if not hmac.compare_digest(given, f"{user}:{password}".encode()):
        raise unauthorized("credentials do not match")
