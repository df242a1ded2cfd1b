"""Operator credentials: `OUTREACH_OPERATOR_TOKENS` (`name:token,...`) parsed once, and a
presented bearer token turned into the operator's name in constant time.

Decisions:
- A token is at least MIN_TOKEN_CHARS characters: the API is reachable by anything inside the
  cluster, so a short token is a guessable one.
- Two names may not share a token (the identity recorded on the event would be a guess), and
  a name appears once.
- Every configured token is compared, whichever matches, and on sha256 digests of equal
  length: neither the time taken nor the token's length tells which name (if any) was close.
- No message here ever repeats a token; a bad entry is named by its position.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

MIN_TOKEN_CHARS = 16
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
AUTH_SCHEME = "bearer"


class TokenConfigError(ValueError):
    """OUTREACH_OPERATOR_TOKENS cannot be read (the message names no token)."""


@dataclass(frozen=True, slots=True)
class OperatorTokens:
    """Names and the sha256 digests of their tokens; the tokens themselves are not kept."""

    entries: tuple[tuple[str, bytes], ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.entries)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.entries)

    def identify(self, presented: str | None) -> str | None:
        """The operator whose token `presented` is, or None. Constant time over all tokens."""
        if presented is None:
            return None
        digest = hashlib.sha256(presented.encode()).digest()
        found: str | None = None
        for name, expected in self.entries:
            # No early exit: every token is compared whatever matched before.
            if hmac.compare_digest(digest, expected):
                found = name
        return found


def parse_tokens(raw: str | None) -> OperatorTokens:
    """`name:token,name:token` -> OperatorTokens. Empty entries (a trailing comma) are skipped;
    None or blank means no operator is configured."""
    if raw is None or not raw.strip():
        return OperatorTokens()
    entries: list[tuple[str, bytes]] = []
    for position, entry in enumerate((e.strip() for e in raw.split(",")), start=1):
        if not entry:
            continue
        name, sep, token = entry.partition(":")
        name, token = name.strip(), token.strip()
        where = f"entry {position}"
        if not sep or not token:
            raise TokenConfigError(f"{where} is not name:token")
        if not NAME.match(name):
            raise TokenConfigError(f"{where}: the name must be letters, digits, '.', '_' or "
                                   "'-' (at most 64)")
        if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
            raise TokenConfigError(f"{where} ({name}): the token must be at least "
                                   f"{MIN_TOKEN_CHARS} characters without spaces")
        digest = hashlib.sha256(token.encode()).digest()
        if any(n == name for n, _ in entries):
            raise TokenConfigError(f"{where}: the name {name} appears twice")
        if any(d == digest for _, d in entries):
            raise TokenConfigError(f"{where} ({name}): the same token as another name")
        entries.append((name, digest))
    return OperatorTokens(tuple(entries))


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != AUTH_SCHEME or not token.strip():
        return None
    return token.strip()
