"""The worker consumer asks the broker to hold an empty fetch for OUTREACH_FETCH_MAX_WAIT_MS, not
Faust's fixed 1,500 ms (kernel/fetch_wait.py: Tansu answers only when the wait ends, so every
hop waited for it); each app keeps its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from streams.app import create_app
from streams.kernel.settings import Settings


def worker_consumer(settings: Settings) -> Any:
    hub = create_app(settings, "127.0.0.1:1", "postgresql://127.0.0.1:1/none")

    async def build() -> Any:  # aiokafka's consumer is made inside a running loop
        return hub.app.consumer._thread._create_worker_consumer(hub.app.transport)

    return asyncio.run(build())


def test_the_worker_consumer_asks_for_the_settings_wait(tmp_path: Path) -> None:
    default = worker_consumer(Settings(stages=("sequencer",), data_dir=tmp_path / "a"))
    short = worker_consumer(Settings(stages=("sequencer",), data_dir=tmp_path / "b",
                                     fetch_max_wait_ms=100))
    assert default._fetch_max_wait_ms == 500  # against Faust's 1,500
    assert short._fetch_max_wait_ms == 100
    # Everything else is Faust's: the group, manual commits.
    assert default._group_id == short._group_id and not short._enable_auto_commit


@pytest.mark.parametrize("wait", [0, 1501])
def test_a_wait_outside_1_to_1500_ms_is_refused(wait: int) -> None:
    with pytest.raises(ValidationError, match="fetch_max_wait_ms"):
        Settings(fetch_max_wait_ms=wait)
