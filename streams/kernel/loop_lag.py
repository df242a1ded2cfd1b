"""How long a worker's event loop kept its callbacks waiting: a task asks to wake every
`INTERVAL_S` and records how late it woke (`outreach_event_loop_lag_seconds`).

Every stage, timer, heartbeat and web page of a worker shares one loop, so a record's wait in
any hop includes the time the loop was held by other work (a lead batch decided in one call,
a table read). Consumer lag says that records wait; this says whether the worker's own loop is
why, and for how long at a stretch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from streams.kernel import metrics

INTERVAL_S = 0.1  # ten wake-ups a second: below the cost of a record, fine enough for a p99


async def watch(observe: Callable[[float], None], interval: float = INTERVAL_S,
                clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
    """Forever: sleep `interval`, then observe how much later than asked the loop woke."""
    while True:
        due = clock() + interval
        await sleep(interval)
        observe(max(0.0, clock() - due))


def install(app: Any) -> None:
    async def event_loop_lag() -> None:
        await watch(metrics.EVENT_LOOP_LAG_SECONDS.observe)

    app.task(event_loop_lag)
