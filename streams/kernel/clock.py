"""The hub's one clock. Cores never read time: shells call `Clock.now()` and pass it in.

`speed` > 1 runs hub time faster than wall time (demo and tests). Hub time equals wall time at
the anchor (a unix timestamp); workers given the same anchor and speed agree on hub time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    def __init__(self, speed: float = 1.0, anchor: float | None = None) -> None:
        self.speed = speed
        self.anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        hub = self.anchor + (time.time() - self.anchor) * self.speed
        return datetime.fromtimestamp(hub, UTC)
