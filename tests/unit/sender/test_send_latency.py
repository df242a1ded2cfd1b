"""Send latency: each provider call is observed by provider and outcome, the backoff between
attempts is not (a slow provider and a retried one must read differently on the dashboard)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from agents.sender.email import SendReceipt
from agents.sender.exceptions import SendFailed
from streams.kernel.metrics import REGISTRY
from streams.shells.email_provider import send_with_retry


class Scripted:
    """A provider answering from a script: a delay, then an exception or a receipt."""

    def __init__(self, name: str, *script: tuple[float, SendFailed | None]) -> None:
        self.name, self.script = name, list(script)

    async def send(self, message: Any) -> SendReceipt:
        delay, failure = self.script.pop(0)
        await asyncio.sleep(delay)
        if failure is not None:
            raise failure
        return SendReceipt(provider=self.name, provider_message_id="m-1",
                           accepted_at=datetime.now(UTC))

    async def close(self) -> None:
        return None


def observed(provider: str, outcome: str, what: str = "count") -> float:
    value = REGISTRY.get_sample_value(f"outreach_send_seconds_{what}",
                                      {"provider": provider, "outcome": outcome})
    return value or 0.0


async def test_each_call_is_observed_by_outcome_without_the_backoff() -> None:
    busy = SendFailed("421 try later", provider="latency-test", transient=True, retry_after=0.3)
    adapter = Scripted("latency-test", (0.02, busy), (0.05, None))
    receipt, failure = await send_with_retry(adapter, SimpleNamespace(email=None), 3)  # type: ignore[arg-type]
    assert receipt is not None and failure is None
    assert observed("latency-test", "transient") == 1
    assert observed("latency-test", "sent") == 1
    assert 0.02 <= observed("latency-test", "transient", "sum") < 0.25  # not the 0.3 s wait
    assert 0.05 <= observed("latency-test", "sent", "sum") < 0.25


@pytest.mark.parametrize(("failure", "outcome"), [
    (SendFailed("550 no such user", provider="p", transient=False), "permanent"),
    (RuntimeError("the adapter broke"), "error"),
])
async def test_a_call_that_fails_is_observed_too(failure: Exception, outcome: str) -> None:
    name = f"latency-{outcome}"

    class Failing(Scripted):
        async def send(self, message: Any) -> SendReceipt:
            raise failure

    before = observed(name, outcome)
    with contextlib.suppress(RuntimeError):  # an unexpected error goes on up, observed
        await send_with_retry(Failing(name), SimpleNamespace(email=None), 3)  # type: ignore[arg-type]
    assert observed(name, outcome) == before + 1
