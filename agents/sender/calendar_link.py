"""Signed meeting-booking links (SPEC §3 "Engagement"): pure, no clock, no I/O.

A link carries ``sid`` (sequence aggregate), ``oid`` (outreach id), ``exp`` (Unix seconds) and
``sig`` = HMAC-SHA256(secret, "sid|oid|exp"), base64url without padding. ``verify`` checks the
signature before the expiry, so only an authentic link is ever reported as merely expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from agents.sender.exceptions import CalendarLinkExpired, InvalidCalendarSignature
from streams.contracts.exceptions import ConfigurationError
from streams.contracts.models.base import AwareDatetime, Frozen

# The faust web port of the embedded hub; production passes its public booking URL.
DEFAULT_BASE_URL = "http://127.0.0.1:6066/calendar/book"
MIN_SECRET_BYTES = 16
# Canonical decimal only ("0123", "+123", "1_000" would parse but are not what was signed).
_EXP = re.compile(r"^(0|[1-9][0-9]{0,11})$")
_FIELDS = ("sid", "oid", "exp", "sig")


class CalendarClaim(Frozen):
    sid: str
    oid: str
    expires_at: AwareDatetime


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigurationError(f"calendar link secret must be >= {MIN_SECRET_BYTES} bytes")


def _signature(sid: str, oid: str, exp: str, secret: bytes) -> str:
    mac = hmac.new(secret, f"{sid}|{oid}|{exp}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _valid_part(value: str) -> bool:
    # "|" is the canonical separator: allowing it would let ("a|b", "c") sign as ("a", "b|c").
    return bool(value) and "|" not in value


def sign(
    sid: str, oid: str, expires_at: datetime, secret: bytes, *, base_url: str = DEFAULT_BASE_URL
) -> str:
    """The booking URL. ``expires_at`` is floored to the second (never later than asked)."""
    if not (_valid_part(sid) and _valid_part(oid)):
        raise ValueError("sid and oid must be non-empty and must not contain '|'")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone")
    _check_secret(secret)
    exp = str(math.floor(expires_at.timestamp()))
    query = urlencode(
        {"sid": sid, "oid": oid, "exp": exp, "sig": _signature(sid, oid, exp, secret)}
    )
    separator = "&" if urlsplit(base_url).query else "?"
    return f"{base_url}{separator}{query}"


def _params(url_or_params: str | Mapping[str, str | Sequence[str]]) -> dict[str, str]:
    if isinstance(url_or_params, str):
        query = urlsplit(url_or_params).query if "?" in url_or_params else url_or_params
        raw: Mapping[str, str | Sequence[str]] = parse_qs(query, keep_blank_values=True)
    else:
        raw = url_or_params
    params: dict[str, str] = {}
    for name in _FIELDS:
        value = raw.get(name)
        if isinstance(value, str):
            params[name] = value
        elif value is not None and len(value) == 1 and isinstance(value[0], str):
            params[name] = value[0]
        else:  # missing, or repeated (which copy would we trust?)
            raise InvalidCalendarSignature(f"calendar link has no single {name!r}")
    return params


def verify(
    url_or_params: str | Mapping[str, str | Sequence[str]], secret: bytes, now: datetime
) -> CalendarClaim:
    """The claim of an authentic, unexpired link; expired exactly at ``exp``."""
    _check_secret(secret)
    p = _params(url_or_params)
    expected = _signature(p["sid"], p["oid"], p["exp"], secret)
    # Constant time: a timing oracle must not reveal how much of a forged sig is right.
    authentic = hmac.compare_digest(expected.encode(), p["sig"].encode())
    well_formed = _EXP.match(p["exp"]) and _valid_part(p["sid"]) and _valid_part(p["oid"])
    if not (authentic and well_formed):
        raise InvalidCalendarSignature("calendar link signature does not match")
    expires_at = datetime.fromtimestamp(int(p["exp"]), UTC)
    if now >= expires_at:
        raise CalendarLinkExpired(f"calendar link expired at {expires_at.isoformat()}")
    return CalendarClaim(sid=p["sid"], oid=p["oid"], expires_at=expires_at)
