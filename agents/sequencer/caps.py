"""Keys of the sequencer's daily-cap counters, and which of them have expired.

A counter is per partition, UTC day, and sending mailbox or recipient domain: each partition
spends only its share of a cap, so no cross-partition coordination is needed. Counters of days
before yesterday are never read again; left alone they would grow the table by a day's worth of
domains every day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def cap_keys(partition: int, day: str, mailbox: str, domain: str) -> tuple[str, str]:
    return f"{partition}|{day}|m|{mailbox}", f"{partition}|{day}|d|{domain}"


def expired_cap_keys(keys: Iterable[str], partition: int, today: str) -> list[str]:
    """This partition's counters of days before yesterday (`today` as YYYY-MM-DD)."""
    keep_from = (date.fromisoformat(today) - timedelta(days=1)).isoformat()
    prefix = f"{partition}|"
    return [k for k in keys if k.startswith(prefix) and k.split("|", 2)[1] < keep_from]
