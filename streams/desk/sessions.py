"""Desk sessions and form tokens, pure apart from random ids: nothing here reads a clock.

Decisions:
- A session cookie is ``<sid>.<operator>.<expires>.<mac>``, mac = HMAC-SHA256(key,
  "session|sid|operator|expires"), base64url. Anything that does not verify is no session:
  the pages answer a redirect to the login, never an error naming what was wrong.
- Revocation is server-side: a logged-out sid is remembered until its own expiry, so the old
  cookie is refused although its signature still verifies. A worker restart with a random key
  logs everybody out; with OUTREACH_DESK_SECRET only the revocations are lost (each worker
  keeps its own), which the short expiry bounds.
- Every rendered form carries a one-use token: ``<nonce>.<mac>``, mac = HMAC(key,
  "form|sid|nonce"), so a token works only with the session it was made for, and a nonce
  used once is refused the second time (a replayed form). Used nonces are kept per session
  while it lives, bounded.
- One-time login codes (the demo's) are configured as sha256 digests; a code logs in once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NONCES_PER_SESSION = 4096
SESSIONS_KEPT = 10_000


def _mac(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    operator: str
    expires: int  # Unix seconds


class FormRefused(Exception):
    """A form that may not act; ``reason`` is what the refusal page says."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sessions:
    """Issues and verifies session cookies and form tokens under one key."""

    def __init__(self, key: bytes, ttl_seconds: int) -> None:
        if len(key) < 16:
            raise ValueError("the desk's session key must be at least 16 bytes")
        self._key = key
        self._ttl = ttl_seconds
        self._revoked: dict[str, int] = {}
        self._used: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def issue(self, operator: str, now: float, sid: str | None = None) -> tuple[Session, str]:
        if not NAME.match(operator):
            raise ValueError("not an operator name")
        session = Session(sid or secrets.token_urlsafe(24), operator, int(now) + self._ttl)
        return session, self.cookie(session)

    def cookie(self, s: Session) -> str:
        expires = str(s.expires)
        mac = _mac(self._key, "session", s.sid, s.operator, expires)
        return f"{s.sid}.{s.operator}.{expires}.{mac}"

    def verify(self, cookie: str | None, now: float) -> Session | None:
        """The session a cookie proves, or None (forged, tampered, expired or revoked)."""
        if not cookie or len(cookie) > 400:
            return None
        parts = cookie.split(".")
        if len(parts) != 4:
            return None
        sid, operator, expires, mac = parts
        if not (SID.match(sid) and NAME.match(operator) and expires.isdigit()):
            return None
        if not hmac.compare_digest(mac, _mac(self._key, "session", sid, operator, expires)):
            return None
        if now >= int(expires) or sid in self._revoked:
            return None
        return Session(sid, operator, int(expires))

    def revoke(self, session: Session, now: float) -> None:
        self._revoked = {s: e for s, e in self._revoked.items() if e > now}
        self._revoked[session.sid] = session.expires
        self._used.pop(session.sid, None)

    def form_token(self, session: Session, nonce: str | None = None) -> str:
        nonce = nonce or secrets.token_urlsafe(18)
        return f"{nonce}.{_mac(self._key, 'form', session.sid, nonce)}"

    def spend(self, session: Session, token: str | None) -> None:
        """Accept a form's token once (FormRefused: missing, not this session's, replayed)."""
        if not token:
            raise FormRefused("the form carries no security token; reload the page and "
                              "try again")
        nonce, _, mac = token.partition(".")
        if not nonce or not hmac.compare_digest(mac, _mac(self._key, "form", session.sid,
                                                          nonce)):
            raise FormRefused("the form's security token is not valid for this session; "
                              "reload the page and try again")
        used = self._used.setdefault(session.sid, OrderedDict())
        self._used.move_to_end(session.sid)
        if nonce in used:
            raise FormRefused("this form was already sent once; nothing was done again. "
                              "Reload the page to act again")
        used[nonce] = None
        while len(used) > NONCES_PER_SESSION:
            used.popitem(last=False)
        while len(self._used) > SESSIONS_KEPT:
            self._used.popitem(last=False)


def cookie_secure(public_base_url: str) -> bool:
    """Secure cookies when the hub is reached over https (a browser drops a Secure cookie
    set over plain http, so the embedded hub on http://127.0.0.1 could not log in)."""
    return public_base_url.strip().lower().startswith("https://")


def parse_one_time_codes(raw: str | None) -> dict[str, str]:
    """`name:sha256hex,...` -> {digest: name}; a malformed entry is named by position."""
    codes: dict[str, str] = {}
    for position, entry in enumerate((e.strip() for e in (raw or "").split(",")), start=1):
        if not entry:
            continue
        name, _, digest = entry.partition(":")
        if not NAME.match(name) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"entry {position} is not name:<sha256 hex of the code>")
        codes[digest] = name
    return codes


class OneTimeCodes:
    """Login codes that work once each (per worker process)."""

    def __init__(self, codes: dict[str, str]) -> None:
        self._codes = dict(codes)

    def redeem(self, code: str | None) -> str | None:
        if not code:
            return None
        digest = hashlib.sha256(code.encode()).hexdigest()
        found = None
        for known in list(self._codes):
            if hmac.compare_digest(known, digest):
                found = known
        return None if found is None else self._codes.pop(found)
