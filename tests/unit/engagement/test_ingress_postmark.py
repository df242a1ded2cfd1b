"""Postmark's basic-auth webhooks: exactly the configured user and password."""

from __future__ import annotations

import pytest

from agents.engagement.ingress import Refused, postmark

USER, PASSWORD = "hooks", "s3cret-pa:ss"


def test_the_configured_credentials_are_accepted() -> None:
    postmark.verify(USER, PASSWORD, {"Authorization": postmark.authorization(USER, PASSWORD)})


@pytest.mark.parametrize("header", [
    postmark.authorization(USER, "wrong"),
    postmark.authorization("other", PASSWORD),
    postmark.authorization(USER, PASSWORD + "x"),
    postmark.authorization(USER, PASSWORD).replace("Basic", "Bearer"),
    "Basic not-base64!",
])
def test_other_credentials_are_refused(header: str) -> None:
    with pytest.raises(Refused) as caught:
        postmark.verify(USER, PASSWORD, {"Authorization": header})
    assert caught.value.status == 401 and PASSWORD not in caught.value.reason


def test_no_credentials_are_unsigned() -> None:
    with pytest.raises(Refused, match="unsigned"):
        postmark.verify(USER, PASSWORD, {})
