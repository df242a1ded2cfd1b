"""Send windows in the contact's time zone, and daily caps (pure; `now` is passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SendWindow(BaseModel):
    """Business hours [start_hour, end_hour) on the listed weekdays (0 = Monday), local time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_hour: int = Field(default=9, ge=0, le=23, description=(
        "the send window opens at this hour, in the contact's time zone"))
    end_hour: int = Field(default=17, ge=1, le=24, description=(
        "and closes at this hour (exclusive)"))
    weekdays: tuple[int, ...] = Field(default=(0, 1, 2, 3, 4), description=(
        "the days emails go out on, 0 = Monday"))
    default_timezone: str = Field(default="UTC", description=(
        "the time zone of a contact who has none or an unknown one (IANA name)"))

    @model_validator(mode="after")
    def _sane(self) -> SendWindow:
        if self.start_hour >= self.end_hour:
            raise ValueError("send window start_hour must be before end_hour")
        if not self.weekdays or any(d not in range(7) for d in self.weekdays):
            raise ValueError("send window weekdays must be a non-empty subset of 0..6")
        zone(self.default_timezone, "UTC")
        return self

    def next_open(self, now: datetime, timezone: str | None) -> datetime:
        """`now` when inside the window, else the next moment it opens (in UTC)."""
        local = now.astimezone(zone(timezone, self.default_timezone))
        for day in range(8):
            candidate = (local + timedelta(days=day)).replace(
                hour=self.start_hour, minute=0, second=0, microsecond=0
            )
            if candidate.weekday() not in self.weekdays:
                continue
            closes = candidate.replace(hour=0) + timedelta(hours=self.end_hour)
            if day == 0 and candidate <= local < closes:
                return now
            if candidate > local:
                return candidate.astimezone(UTC)
        raise AssertionError("a week always holds an open window")  # guarded by _sane

    def next_day_open(self, now: datetime, timezone: str | None) -> datetime:
        """The first opening on a later local day (a daily cap is spent for today)."""
        local = now.astimezone(zone(timezone, self.default_timezone))
        tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return self.next_open(tomorrow.astimezone(UTC), timezone)


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The contact's zone; an unknown or missing one falls back (never fails a send decision)."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue  # unknown, malformed, or a path-like name ("America")
    return ZoneInfo("UTC")


class DailyCaps(BaseModel):
    """Emails per UTC day per sending mailbox and per recipient domain, across the cluster.

    Each partition spends its own share: the cap split evenly, the remainder to the lowest
    partitions, so the shares add up to exactly the cap with no cross-partition coordination.
    (A domain whose people sit on one partition gets only that partition's share: the price of
    coordination-free caps; raise the cap or lower the partition count if that bites.)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # 100 a day per mailbox: what cold-email tools advise (more gets a mailbox flagged).
    per_mailbox: int = Field(default=100, ge=1, description=(
        "emails per UTC day per sending mailbox, across the cluster (split across partitions)"))
    per_domain: int = Field(default=40, ge=1, description=(
        "emails per UTC day per recipient domain, across the cluster (split across partitions: "
        "a domain whose people sit on one partition gets only its share)"))

    def share(self, cap: int, partitions: int, partition: int) -> int:
        partitions = max(1, partitions)
        return cap // partitions + (1 if partition % partitions < cap % partitions else 0)


def cap_day(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d")
