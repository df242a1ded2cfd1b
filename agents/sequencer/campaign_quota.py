"""A campaign's approved send rates (sends per UTC hour and per UTC day), enforced before a touch
is requested (pure; `now` and the counters spent are passed in).

The approval binds the rates (seed 004 step 6) and the auditor checks them afterwards on the
same UTC hour and day buckets (agents/campaigns/audit.py); here a due touch whose campaign has
no room left is deferred to the next window that has some, never dropped. Every touch the
sequencer requests counts, a phone task too: the sender records it as sent and the audit counts
it.

A campaign's persons sit on every partition, so the rate is split like the daily caps: each
partition spends only its share, kept in the same per-partition caps ledger, and the shares of
one window add up to exactly the rate with no cross-partition coordination. Unlike the caps'
shares, the remainder rotates with the window: a rate below the partition count (3 an hour on 8
partitions) gives every partition its turn, so no partition's persons wait forever. The price:
a campaign whose due persons sit on few partitions sends below its rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from streams.contracts.decision import ConsumeQuota

if TYPE_CHECKING:
    from agents.sequencer.person_state import SequencerContext

HOUR, DAY = 3600, 86400


@dataclass(frozen=True, slots=True)
class CampaignRates:
    """The approval's execution constraints; None: no limit of that kind."""

    per_hour: int | None = None
    per_day: int | None = None


def hour_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H")


def day_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d")


def quota_keys(partition: int, campaign_id: str, hour: str, day: str) -> tuple[str, str]:
    """The partition's counters of the campaign's hour and day. The second field sorts with the
    caps' days (agents/sequencer/caps.py), so the ledger's daily sweep drops old ones too."""
    return f"{partition}|{hour}|ch|{campaign_id}", f"{partition}|{day}|cd|{campaign_id}"


def share(limit: int, partitions: int, partition: int, window: int) -> int:
    """This partition's part of ``limit`` in the ``window``-th hour or day since the epoch."""
    partitions = max(1, partitions)
    turn = (partition + window) % partitions
    return limit // partitions + (1 if turn < limit % partitions else 0)


def _index(at: datetime, seconds: int) -> int:
    return int(at.timestamp()) // seconds


def _start_of_next(at: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp((_index(at, seconds) + 1) * seconds, UTC)


def next_room(rates: CampaignRates, campaign_id: str, now: datetime, partitions: int,
              partition: int, spent: Callable[[str], int],
              hour_day: tuple[str, str] | None = None) -> datetime | None:
    """None when the partition's share of this hour and day has room for one more touch of the
    campaign; else the start of the first later window whose share has room (its counters are
    new, so only its share can be zero). ``hour_day``: `now`'s, when the caller has them."""
    hour, day = hour_day or (hour_of(now), day_of(now))
    hour_key, day_key = quota_keys(partition, campaign_id, hour, day)

    def hour_share(at: datetime) -> int:
        return (HOUR if rates.per_hour is None
                else share(rates.per_hour, partitions, partition, _index(at, HOUR)))

    def day_share(at: datetime) -> int:
        return (DAY if rates.per_day is None
                else share(rates.per_day, partitions, partition, _index(at, DAY)))

    day_full = rates.per_day is not None and spent(day_key) >= day_share(now)
    hour_full = rates.per_hour is not None and spent(hour_key) >= hour_share(now)
    if not (day_full or hour_full):
        return None
    at = _start_of_next(now, DAY if day_full else HOUR)
    # A zero share comes back at most partitions - 1 windows in a row, of either kind.
    for _ in range(2 * max(1, partitions) + 48):
        if day_share(at) == 0:
            at = _start_of_next(at, DAY)
        elif hour_share(at) == 0:
            at = _start_of_next(at, HOUR)
        else:
            break
    return at


def spend_quota(ctx: SequencerContext, campaign_id: str | None, now: datetime
                ) -> datetime | tuple[ConsumeQuota, ...]:
    """The effect that spends one touch of the campaign's rates now, or when to look again
    because this partition's share is spent (no effect for a campaign without rates)."""
    rates = None if campaign_id is None else ctx.campaign_rates(campaign_id)
    if rates is None or campaign_id is None or (rates.per_hour is None
                                                and rates.per_day is None):
        return ()
    hour, day = hour_of(now), day_of(now)
    later = next_room(rates, campaign_id, now, ctx.partitions, ctx.partition, ctx.caps_spent,
                      (hour, day))
    if later is not None:
        return later
    return (ConsumeQuota(campaign_id, hour, day),)
