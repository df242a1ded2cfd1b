"""Operator credentials: how OUTREACH_OPERATOR_TOKENS is read, and who a bearer token is."""

from __future__ import annotations

from typing import Any

import pytest

from streams.contracts.exceptions import ConfigurationError
from streams.kernel import operator_tokens
from streams.kernel.operator_tokens import TokenConfigError, bearer, parse_tokens
from streams.kernel.settings import Settings

ANN = "ann-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef"


def test_each_name_gets_its_own_token() -> None:
    tokens = parse_tokens(f" ann:{ANN} , bob:{BOB},")
    assert tokens.names == ("ann", "bob")
    assert tokens.identify(ANN) == "ann"
    assert tokens.identify(BOB) == "bob"
    assert tokens.identify(ANN + "x") is None
    assert tokens.identify(ANN[:-1]) is None
    assert tokens.identify("") is None
    assert tokens.identify(None) is None


def test_the_tokens_themselves_are_not_kept() -> None:
    tokens = parse_tokens(f"ann:{ANN}")
    assert ANN not in repr(tokens)
    assert ANN.encode() not in b"".join(d for _, d in tokens.entries)


@pytest.mark.parametrize("raw", [None, "", "  ", ","])
def test_no_tokens_means_no_operator(raw: str | None) -> None:
    assert not parse_tokens(raw).configured
    assert parse_tokens(raw).identify(ANN) is None


@pytest.mark.parametrize(("raw", "message"), [
    (f"ann{ANN}", "entry 1 is not name:token"),
    ("ann:", "entry 1 is not name:token"),
    (f"ann:{ANN},bob:short", r"entry 2 \(bob\): the token must be at least 16"),
    (f"ann:{ANN},ann:{BOB}", "entry 2: the name ann appears twice"),
    (f"ann:{ANN},bob:{ANN}", r"entry 2 \(bob\): the same token as another name"),
    (f"a n:{ANN}", "entry 1: the name must be"),
    ("ann:has a space in the token", "without spaces"),
])
def test_a_bad_entry_is_named_by_position_never_by_its_token(raw: str, message: str) -> None:
    with pytest.raises(TokenConfigError, match=message) as caught:
        parse_tokens(raw)
    assert ANN not in str(caught.value) and "short" not in str(caught.value)


def test_a_worker_with_unreadable_tokens_refuses_to_start_without_showing_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"OUTREACH_OPERATOR_TOKENS": f"ann:{ANN},bob:tooshort"})
    text = str(caught.value)
    assert "OUTREACH_OPERATOR_TOKENS" in text and "entry 2 (bob)" in text
    assert ANN not in text and "tooshort" not in text


@pytest.mark.parametrize("presented", [ANN, BOB, "nobody-0123456789abcdef", ""])
def test_every_configured_token_is_compared_whichever_matches(
    presented: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = parse_tokens(f"ann:{ANN},bob:{BOB},cy:cy-token-0123456789abcdef")
    compared: list[tuple[int, int]] = []
    real = operator_tokens.hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(operator_tokens.hmac, "compare_digest", counting)
    tokens.identify(presented)
    # All three, and on digests of one length: the token's length tells nothing either.
    assert compared == [(32, 32)] * 3


@pytest.mark.parametrize(("header", "token"), [
    (f"Bearer {ANN}", ANN),
    (f"bearer   {ANN} ", ANN),
    (f"Basic {ANN}", None),
    ("Bearer", None),
    ("Bearer   ", None),
    (None, None),
    ("", None),
])
def test_the_bearer_scheme_carries_the_token(header: str | None, token: str | None) -> None:
    assert bearer(header) == token


def test_the_cli_finds_the_local_workers_api_by_default() -> None:
    assert Settings.from_env({}).operator_api_url == "http://127.0.0.1:6066"
    assert Settings.from_env({"OUTREACH_WEB_HOST": "0.0.0.0", "OUTREACH_WEB_PORT": "7000"}
                             ).operator_api_url == "http://127.0.0.1:7000"
    assert Settings.from_env({"OUTREACH_API_URL": "http://hub.internal:6066/"}
                             ).operator_api_url == "http://hub.internal:6066"
