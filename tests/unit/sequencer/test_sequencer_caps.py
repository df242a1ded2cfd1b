"""Daily-cap counter keys: per partition and day, and only days before yesterday expire."""

from __future__ import annotations

import pytest

from agents.sequencer.caps import cap_keys, expired_cap_keys


def test_a_touch_spends_its_mailbox_and_its_domain_on_its_partition_and_day() -> None:
    assert cap_keys(3, "2026-11-25", "sdr-1", "acme.example") == (
        "3|2026-11-25|m|sdr-1", "3|2026-11-25|d|acme.example")


@pytest.mark.parametrize(("key", "expired"), [
    ("1|2026-11-25|m|sdr", False),  # today
    ("1|2026-11-24|d|acme.example", False),  # yesterday: a worker whose clock lags still reads it
    ("1|2026-11-23|m|sdr", True),
    ("1|2025-12-31|d|x.example", True),
    ("2|2026-11-01|m|sdr", False),  # another partition's: only its owner's batches delete it
    ("11|2026-11-01|m|sdr", False),  # partition 11 is not partition 1
])
def test_only_this_partitions_counters_before_yesterday_expire(key: str, expired: bool) -> None:
    assert (expired_cap_keys([key], 1, "2026-11-25") == [key]) is expired


def test_month_and_year_boundaries() -> None:
    keys = ["0|2026-12-31|m|a", "0|2027-01-01|m|a", "0|2026-12-30|m|a"]
    assert expired_cap_keys(keys, 0, "2027-01-01") == ["0|2026-12-30|m|a"]
