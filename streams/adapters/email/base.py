"""The adapters' default clock: wall time, for an adapter used outside a hub (tests, tools)."""

from __future__ import annotations

from datetime import UTC, datetime


def wall_now() -> datetime:
    return datetime.now(UTC)
