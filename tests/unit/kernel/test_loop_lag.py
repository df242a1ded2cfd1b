"""A held event loop shows in outreach_event_loop_lag_seconds, an idle one does not."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from streams.kernel.loop_lag import watch


def lags_while(hold_s: float, holds: int) -> list[float]:
    """The lags `watch` observes while a callback holds the loop `hold_s` at a time, `holds`
    times, 0.3 s apart."""
    seen: list[float] = []

    async def scenario() -> None:
        watcher = asyncio.create_task(watch(seen.append, interval=0.02))
        for _ in range(holds):
            await asyncio.sleep(0.3)
            time.sleep(hold_s)  # a stage deciding a large record in one call
        await asyncio.sleep(0.1)
        watcher.cancel()

    asyncio.run(scenario())
    return seen


def test_each_hold_of_the_loop_is_observed_about_as_long_as_it_was() -> None:
    seen = lags_while(0.25, holds=3)
    held = [lag for lag in seen if lag >= 0.2]
    assert len(held) == 3
    assert all(lag < 0.5 for lag in held)


def test_an_idle_loop_observes_no_lag_worth_a_bucket() -> None:
    seen = lags_while(0.0, holds=3)
    assert len(seen) >= 30
    assert sorted(seen)[len(seen) // 2] < 0.01


def observed_with(late_by: float) -> list[float]:
    """What `watch` observes, on a clock of its own, when each sleep ends `late_by` after it
    was due: three wake-ups."""
    now = [0.0]
    seen: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds + late_by

    def observe(lag: float) -> None:
        seen.append(lag)
        if len(seen) == 3:
            raise asyncio.CancelledError

    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(watch(observe, interval=0.1, clock=lambda: now[0], sleep=sleep))
    return [round(lag, 6) for lag in seen]


@pytest.mark.parametrize("late_by", [0.0, 0.005, 0.7, 3.0])
def test_the_lag_is_how_much_later_than_due_the_sleep_ended(late_by: float) -> None:
    assert observed_with(late_by) == [late_by] * 3
