"""SendWindow (business hours in the contact's zone) and DailyCaps (per-partition shares)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.sequencer.window import DailyCaps, SendWindow, cap_day, zone

BIZ = SendWindow(start_hour=9, end_hour=17, weekdays=(0, 1, 2, 3, 4))
TOKYO_DEFAULT = SendWindow(start_hour=9, end_hour=17, weekdays=(0, 1, 2, 3, 4),
                           default_timezone="Asia/Tokyo")
ALWAYS = SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7)))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


SAME = None  # "returns now unchanged"

# (window, zone, now, expected next_open or SAME)
NEXT_OPEN = [
    # America/Chicago, CDT (UTC-5) in June 2026; 2026-06-01 is a Monday.
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 1, 14), SAME, id="chi-exactly-start"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 1, 13, 59, 59), utc(2026, 6, 1, 14),
                 id="chi-second-before-start"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 1, 21, 59, 59), SAME,
                 id="chi-second-before-end"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 1, 22), utc(2026, 6, 2, 14),
                 id="chi-exactly-end-closed"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 5, 22), utc(2026, 6, 8, 14),
                 id="chi-friday-close"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 6, 15), utc(2026, 6, 8, 14),
                 id="chi-saturday"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 8, 2), utc(2026, 6, 8, 14),
                 id="chi-sunday-night-local-monday-utc"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 3, 6, 23), utc(2026, 3, 9, 14),
                 id="chi-across-spring-forward"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 10, 30, 22), utc(2026, 11, 2, 15),
                 id="chi-across-fall-back"),
    # Asia/Tokyo, UTC+9, no DST.
    pytest.param(BIZ, "Asia/Tokyo", utc(2026, 6, 8, 0), SAME, id="tyo-exactly-start"),
    pytest.param(BIZ, "Asia/Tokyo", utc(2026, 6, 7, 23, 30), utc(2026, 6, 8, 0),
                 id="tyo-monday-early-sunday-utc"),
    pytest.param(BIZ, "Asia/Tokyo", utc(2026, 6, 5, 8), utc(2026, 6, 8, 0),
                 id="tyo-friday-exactly-end"),
    pytest.param(BIZ, "Asia/Tokyo", utc(2026, 6, 5, 7, 59), SAME, id="tyo-friday-before-end"),
    pytest.param(BIZ, "Asia/Tokyo", utc(2026, 6, 7, 10), utc(2026, 6, 8, 0), id="tyo-sunday"),
    # Europe/Berlin across both DST changes of 2026 (29 Mar, 25 Oct).
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 3, 27, 17), utc(2026, 3, 30, 7),
                 id="ber-weekend-spring-forward"),
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 3, 27, 8, 30), SAME,
                 id="ber-friday-cet-open"),
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 3, 30, 6, 59), utc(2026, 3, 30, 7),
                 id="ber-monday-cest-before-start"),
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 3, 30, 15), utc(2026, 3, 31, 7),
                 id="ber-monday-cest-exactly-end"),
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 10, 23, 16), utc(2026, 10, 26, 8),
                 id="ber-weekend-fall-back"),
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 10, 26, 7, 30), utc(2026, 10, 26, 8),
                 id="ber-monday-cet-before-start"),
    # Unknown zone and None fall back to default_timezone.
    pytest.param(TOKYO_DEFAULT, "Mars/Olympus_Mons", utc(2026, 6, 7, 10), utc(2026, 6, 8, 0),
                 id="unknown-zone-falls-back"),
    pytest.param(TOKYO_DEFAULT, None, utc(2026, 6, 7, 10), utc(2026, 6, 8, 0),
                 id="none-falls-back"),
    pytest.param(TOKYO_DEFAULT, "", utc(2026, 6, 7, 10), utc(2026, 6, 8, 0),
                 id="empty-falls-back"),
    pytest.param(BIZ, None, utc(2026, 6, 6, 10), utc(2026, 6, 8, 9), id="none-default-utc"),
    pytest.param(BIZ, "Not/AZone", utc(2026, 6, 1, 9), SAME, id="unknown-default-utc-start"),
    # An always-open window is always open.
    pytest.param(ALWAYS, "Asia/Tokyo", utc(2026, 6, 6, 3, 17), SAME, id="always-open"),
]


@pytest.mark.parametrize(("window", "tz", "now", "expected"), NEXT_OPEN)
def test_next_open(window: SendWindow, tz: str | None, now: datetime,
                   expected: datetime | None) -> None:
    got = window.next_open(now, tz)
    assert got == (now if expected is None else expected)
    if expected is not None:
        assert got.utcoffset() == timedelta(0)


def test_next_open_accepts_non_utc_now() -> None:
    now = datetime(2026, 6, 6, 10, tzinfo=ZoneInfo("America/Chicago"))  # Saturday
    assert BIZ.next_open(now, "America/Chicago") == utc(2026, 6, 8, 14)


NEXT_DAY_OPEN = [
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 1, 15), utc(2026, 6, 2, 14),
                 id="chi-monday-to-tuesday"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 5, 15), utc(2026, 6, 8, 14),
                 id="chi-friday-to-monday"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 6, 1, 3), utc(2026, 6, 1, 14),
                 id="chi-sunday-local-late"),
    pytest.param(BIZ, "America/Chicago", utc(2026, 3, 6, 15), utc(2026, 3, 9, 14),
                 id="chi-across-spring-forward"),
    pytest.param(BIZ, "Asia/Tokyo", utc(2026, 6, 1, 1), utc(2026, 6, 2, 0),
                 id="tyo-next-day"),
    pytest.param(BIZ, "Asia/Tokyo", utc(2026, 6, 5, 1), utc(2026, 6, 8, 0),
                 id="tyo-friday-to-monday"),
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 3, 27, 10), utc(2026, 3, 30, 7),
                 id="ber-spring-forward"),
    pytest.param(BIZ, "Europe/Berlin", utc(2026, 10, 24, 10), utc(2026, 10, 26, 8),
                 id="ber-fall-back"),
    pytest.param(TOKYO_DEFAULT, "Nowhere/Special", utc(2026, 6, 1, 1), utc(2026, 6, 2, 0),
                 id="unknown-falls-back"),
    pytest.param(TOKYO_DEFAULT, None, utc(2026, 6, 1, 1), utc(2026, 6, 2, 0),
                 id="none-falls-back"),
    pytest.param(ALWAYS, "Asia/Tokyo", utc(2026, 6, 1, 1), utc(2026, 6, 1, 15),
                 id="always-open-next-local-midnight"),
    pytest.param(ALWAYS, None, utc(2026, 6, 1, 23, 59), utc(2026, 6, 2, 0),
                 id="always-open-utc-midnight"),
]


@pytest.mark.parametrize(("window", "tz", "now", "expected"), NEXT_DAY_OPEN)
def test_next_day_open(window: SendWindow, tz: str | None, now: datetime,
                       expected: datetime) -> None:
    got = window.next_day_open(now, tz)
    assert got == expected
    local_zone = zone(tz, window.default_timezone)
    assert got.astimezone(local_zone).date() > now.astimezone(local_zone).date()


@pytest.mark.parametrize("kwargs", [
    {"start_hour": 9, "end_hour": 9},
    {"start_hour": 17, "end_hour": 9},
    {"start_hour": 23, "end_hour": 1},
    {"weekdays": ()},
    {"weekdays": (7,)},
    {"weekdays": (0, 7)},
    {"weekdays": (-1,)},
    {"start_hour": 24},
    {"start_hour": -1},
    {"end_hour": 0},
    {"end_hour": 25},
    {"unknown": 1},
], ids=str)
def test_invalid_windows_raise(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SendWindow(**kwargs)  # type: ignore[arg-type]


def test_zone_fallbacks() -> None:
    assert zone("America/Chicago", "UTC") == ZoneInfo("America/Chicago")
    assert zone(None, "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert zone("Bogus/Zone", "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert zone("Bogus/Zone", "Also/Bogus") == ZoneInfo("UTC")
    assert zone("../../etc/passwd", "UTC") == ZoneInfo("UTC")


@pytest.mark.parametrize("name", ["America", "a" * 300])
def test_zone_naming_a_directory_or_too_long_falls_back(name: str) -> None:
    assert BIZ.next_open(utc(2026, 6, 6, 10), name) == utc(2026, 6, 8, 9)


def test_cap_day_is_utc_date() -> None:
    assert cap_day(datetime(2026, 6, 1, 20, tzinfo=ZoneInfo("America/Chicago"))) == "2026-06-02"


# --------------------------------------------------------------------------- properties

ZONES = ["America/Chicago", "Asia/Tokyo", "Europe/Berlin", "Australia/Lord_Howe",
         "Asia/Kolkata", "UTC", "Pacific/Kiritimati", None, "Unknown/Zone"]


@st.composite
def windows(draw: st.DrawFn) -> SendWindow:
    start = draw(st.integers(0, 22))
    end = draw(st.integers(start + 1, 24))
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    return SendWindow(start_hour=start, end_hour=end, weekdays=tuple(sorted(days)))


def _open(window: SendWindow, at: datetime, tz: str | None) -> bool:
    local = at.astimezone(zone(tz, window.default_timezone))
    return (local.weekday() in window.weekdays
            and window.start_hour <= local.hour < window.end_hour)


nows = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                    timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(windows(), st.sampled_from(ZONES), nows)
def test_next_open_is_the_first_open_moment(window: SendWindow, tz: str | None,
                                            now: datetime) -> None:
    got = window.next_open(now, tz)
    assert got >= now
    assert got - now <= timedelta(days=8)
    if got == now:
        assert _open(window, now, tz)
    else:
        assert not _open(window, now, tz)
        # Openings are on the hour: nothing earlier on the hour (after now) is open.
        probe = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        while probe < got:
            assert not _open(window, probe, tz), probe
            probe += timedelta(hours=1)
        assert got.astimezone(zone(tz, window.default_timezone)).minute == 0


@settings(max_examples=200, deadline=None)
@given(windows(), st.sampled_from(ZONES), nows)
def test_next_day_open_is_on_a_later_local_day(window: SendWindow, tz: str | None,
                                               now: datetime) -> None:
    got = window.next_day_open(now, tz)
    local = zone(tz, window.default_timezone)
    assert got > now
    assert got.astimezone(local).date() > now.astimezone(local).date()
    assert got - now <= timedelta(days=9)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 100_000), st.integers(1, 1024))
def test_cap_shares_add_up_to_exactly_the_cap(cap: int, partitions: int) -> None:
    caps = DailyCaps()
    shares = [caps.share(cap, partitions, p) for p in range(partitions)]
    assert sum(shares) == cap
    assert max(shares) - min(shares) <= 1  # even, up to the remainder


@pytest.mark.parametrize("partitions", [0, -3])
def test_cap_share_with_nonsense_partitions_is_the_whole_cap(partitions: int) -> None:
    assert DailyCaps().share(40, partitions, 0) == 40


def test_cap_below_partition_count_is_not_exceeded() -> None:
    caps = DailyCaps(per_mailbox=400, per_domain=2)
    assert sum(caps.share(caps.per_domain, 4, p) for p in range(4)) == caps.per_domain


def test_caps_reject_zero() -> None:
    with pytest.raises(ValueError):
        DailyCaps(per_domain=0)
    with pytest.raises(ValueError):
        DailyCaps(per_mailbox=0)
