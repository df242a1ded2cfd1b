"""The hub's one clock. Cores never read time: shells call `Clock.now()` and pass it in.

`speed` > 1 runs hub time faster than wall time (demo and tests), anchored at start-up.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        self.speed = speed
        self._wall0 = time.monotonic()
        self._hub0 = start or datetime.now(UTC)

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._wall0) * self.speed
        return self._hub0 + timedelta(seconds=elapsed)

    def wall_seconds(self, hub_seconds: float) -> float:
        """How long to wait in wall time for `hub_seconds` of hub time to pass."""
        return hub_seconds / self.speed
