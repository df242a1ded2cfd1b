"""Checks of the settings a real email provider depends on, and how a bad setting is told.

Every email carries an unsubscribe link and a calendar link signed with HMAC keys, under the
public base URL: a short or published key lets anyone forge them, and a loopback or private
address sends every recipient's click nowhere. Pure and offline: a host name is judged by its
spelling, never resolved.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from pydantic import ValidationError

# An HMAC-SHA256 key as long as the digest: shorter keys make the links easier to forge.
MIN_SECRET_BYTES = 32
EMBEDDED_DEFAULT = "embedded-default-"  # the prefix of the sandbox's published defaults
# Names that resolve only on this machine or inside a site (RFC 6761, RFC 6762, RFC 8375, and
# the ICANN-reserved .internal).
LOCAL_NAMES = ("localhost", "local", "internal", "home.arpa")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")  # at least two labels: no intranet names


def weak_secret(value: str) -> str | None:
    """Why `value` cannot sign real links, or None. Never repeats the value."""
    if value.startswith(EMBEDDED_DEFAULT):
        return "must be set (the embedded default is published in the source)"
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"must be at least {MIN_SECRET_BYTES} bytes"
    return None


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            # Browsers read "127.1", "2130706433" and "0x7f.1" as IPv4 too; inet_aton parses
            # exactly those legacy forms (no lookup).
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, UnicodeError):
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, which 3.11 does not say itself
    return ip


def non_public_url(url: str) -> str | None:
    """Why `url` is not a public http(s) base URL, or None. Never repeats the URL (it may carry
    credentials)."""
    if not url or any(c.isspace() for c in url):
        return "must be a URL without spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number in range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "has no host"
    if parts.username is not None:
        return "must not carry credentials (every email would show them)"
    if parts.query or parts.fragment:
        return "must not carry a query or fragment (the links' paths are appended to it)"
    ip = _ip_literal(host)
    if ip is None:
        if any(host == n or host.endswith("." + n) for n in LOCAL_NAMES):
            return "names this machine or a local network, not a public host"
        if not _HOST_NAME.fullmatch(host):
            return "must name a public host (a dotted DNS name or a public IP address)"
        return None
    for kind, hit in (("a loopback", ip.is_loopback), ("an unspecified", ip.is_unspecified),
                      ("a link-local", ip.is_link_local), ("a private", ip.is_private),
                      ("a multicast", ip.is_multicast), ("a non-public", not ip.is_global)):
        if hit:
            return f"is {kind} address, not reachable by the recipients"
    return None


def one_line(exc: ValidationError, prefix: str, secrets: frozenset[str]) -> str:
    """A settings ValidationError as one line naming the variables. The value is shown only for
    a plain field (a typo in OUTREACH_STAGES), never for a secret nor for a whole-model check
    (whose input is every setting)."""
    parts = []
    for err in exc.errors(include_url=False):
        names = [str(p) for p in err["loc"] if isinstance(p, str)]
        msg = err["msg"].removeprefix("Value error, ")
        value = err.get("input")
        if not names or (isinstance(value, dict) and err["type"] == "value_error"):
            parts.append(msg)  # a group's own check names its variables itself
            continue
        plain = isinstance(value, str | int | float) and len(str(value)) <= 80
        shown = f" (got {value!r})" if plain and not secrets.intersection(names) else ""
        parts.append(f"{prefix}{'_'.join(names).upper()}: {msg}{shown}")
    return "; ".join(p.replace("\n", " ") for p in parts)
