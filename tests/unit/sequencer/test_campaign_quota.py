"""A campaign's approved rates (sends per UTC hour / day) are kept before a touch is requested:
a due touch over its partition's share waits for the next window with room (counted as
`campaign_rate`), and no window of the campaign ever holds more touches than approved."""

from __future__ import annotations

import dataclasses
import heapq
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.sequencer.campaign_quota import (
    CampaignRates,
    next_room,
    quota_keys,
    share,
)
from agents.sequencer.caps import cap_keys, expired_cap_keys
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.window import DailyCaps
from streams.contracts.decision import ConsumeCap, ConsumeQuota, Count
from streams.contracts.models.send import TouchRequested
from streams.contracts.models.sequence import CheckDueTouches
from streams.kernel.caps import CapLedger
from streams.kernel.clock import Clock
from tests.unit.sequencer.test_sequencer_person import CTX, enroll

CAMPAIGN = "cmp-0123456789abcdef"
T0 = datetime(2026, 6, 1, 12, 20, tzinfo=UTC)
NEXT_HOUR = datetime(2026, 6, 1, 13, tzinfo=UTC)
NEXT_DAY = datetime(2026, 6, 2, tzinfo=UTC)


def ctx_for(rates: CampaignRates | None, spent: Any = lambda _k: 0, partitions: int = 1,
            partition: int = 0) -> SequencerContext:
    return dataclasses.replace(
        CTX, campaign_status=lambda _c: "active", campaign_rates=lambda _c: rates,
        caps_spent=spent, partitions=partitions, partition=partition,
        caps=DailyCaps(per_mailbox=100_000, per_domain=100_000))


# --------------------------------------------------------------------------- shares


@pytest.mark.parametrize(("limit", "partitions"), [
    (3, 1), (3, 2), (3, 4), (3, 8), (50, 12), (7, 7), (1, 5), (200, 3)])
def test_the_shares_of_every_window_add_up_to_exactly_the_limit(limit: int,
                                                                partitions: int) -> None:
    for window in range(3 * partitions):
        assert sum(share(limit, partitions, p, window) for p in range(partitions)) == limit


@pytest.mark.parametrize(("limit", "partitions", "window", "shares"), [
    (3, 2, 0, [2, 1]), (3, 2, 1, [1, 2]),
    (3, 4, 0, [1, 1, 1, 0]), (3, 4, 1, [1, 1, 0, 1]), (3, 4, 3, [0, 1, 1, 1]),
    (8, 4, 5, [2, 2, 2, 2]),
])
def test_the_remainder_rotates_so_every_partition_gets_its_turn(
        limit: int, partitions: int, window: int, shares: list[int]) -> None:
    assert [share(limit, partitions, p, window) for p in range(partitions)] == shares


# --------------------------------------------------------------------------- next_room


@pytest.mark.parametrize(("per_hour", "per_day", "hour_spent", "day_spent", "expected"), [
    (3, None, 0, 0, None),
    (3, None, 2, 2, None),
    (3, None, 3, 3, NEXT_HOUR),  # the hour is spent: the next hour
    (3, 10, 3, 9, NEXT_HOUR),
    (3, 10, 1, 10, NEXT_DAY),  # the day is spent: the next UTC day, whatever the hour says
    (3, 10, 3, 10, NEXT_DAY),
    (None, 10, 99, 9, None),
    (None, 10, 0, 10, NEXT_DAY),
])
def test_next_room_on_one_partition(per_hour: int | None, per_day: int | None,
                                    hour_spent: int, day_spent: int,
                                    expected: datetime | None) -> None:
    hour_key, day_key = quota_keys(0, CAMPAIGN, "2026-06-01T12", "2026-06-01")
    spent = {hour_key: hour_spent, day_key: day_spent}
    assert next_room(CampaignRates(per_hour, per_day), CAMPAIGN, T0, 1, 0,
                     lambda k: spent.get(k, 0)) == expected


def test_a_zero_share_waits_for_the_partitions_turn() -> None:
    # 1 an hour over 3 partitions: partition p's turn is when (p + hour) % 3 == 0.
    hour = int(T0.timestamp()) // 3600
    partition = next(p for p in range(3) if (p + hour) % 3 == 1)  # its turn is 2 hours off
    at = next_room(CampaignRates(1, None), CAMPAIGN, T0, 3, partition, lambda _k: 0)
    assert at == NEXT_HOUR + timedelta(hours=1)
    assert share(1, 3, partition, int(at.timestamp()) // 3600) == 1


def test_rate_counters_expire_with_the_caps_counters() -> None:
    old = quota_keys(1, CAMPAIGN, "2026-11-23T23", "2026-11-23")
    kept = quota_keys(1, CAMPAIGN, "2026-11-24T00", "2026-11-24")
    assert sorted(expired_cap_keys([*old, *kept], 1, "2026-11-25")) == sorted(old)


def test_the_ledger_lets_the_next_decision_of_a_batch_see_the_quota_spent() -> None:
    ledger = CapLedger({}, Clock())
    ledger.decided(2, [ConsumeQuota(CAMPAIGN, "2026-06-01T12", "2026-06-01")])
    hour_key, day_key = quota_keys(2, CAMPAIGN, "2026-06-01T12", "2026-06-01")
    assert ledger.get(hour_key) == ledger.get(day_key) == 1
    assert ledger.get(quota_keys(1, CAMPAIGN, "2026-06-01T12", "2026-06-01")[0]) == 0


# --------------------------------------------------------------------------- the person core


@pytest.mark.parametrize(("spent", "requested"), [(0, True), (2, True), (3, False), (7, False)])
def test_a_due_touch_over_the_hourly_rate_is_deferred_and_counted(spent: int,
                                                                  requested: bool) -> None:
    ctx = ctx_for(CampaignRates(3, 200), lambda k: spent if "|ch|" in k else 0)
    d = decide_person(PersonState(contact_key="k1"),
                      enroll(at=T0, contact_key="k1", campaign_id=CAMPAIGN), T0, ctx)
    touches = [e.event for e in d.emits if isinstance(e.event, TouchRequested)]
    deferred = [e.labels for e in d.effects
                if isinstance(e, Count) and e.metric == "sequencer_touches_deferred_total"]
    quota = [e for e in d.effects if isinstance(e, ConsumeQuota)]
    if requested:
        assert len(touches) == 1 and deferred == []
        assert quota == [ConsumeQuota(CAMPAIGN, "2026-06-01T12", "2026-06-01")]
    else:
        assert touches == [] and quota == []
        assert deferred == [(("reason", "campaign_rate"),)]
        assert d.state.active is not None and d.state.active.next_due_at == NEXT_HOUR


def test_a_campaign_without_known_rates_is_not_limited() -> None:
    d = decide_person(PersonState(contact_key="k1"),
                      enroll(at=T0, contact_key="k1", campaign_id=CAMPAIGN), T0,
                      ctx_for(None, lambda k: 10_000_000 if "|c" in k else 0))
    assert any(isinstance(e.event, TouchRequested) for e in d.emits)
    assert not any(isinstance(e, ConsumeQuota) for e in d.effects)


# --------------------------------------------------------------------------- the property


def simulate(people: list[tuple[int, int]], partitions: int, rates: CampaignRates,
             horizon: timedelta) -> tuple[list[datetime], set[str], set[str], int]:
    """Persons (partition, minutes after T0 they enroll) of one campaign, decided in time order
    as the shell would (one ledger of counters, a nudge when a person is due) until every
    sequence has ended or the horizon. Returns when each touch was requested, who was touched,
    who waits on a deferral no touch has followed yet, and how many sequences are left."""
    spent: Counter[str] = Counter()
    requested: list[datetime] = []
    touched: set[str] = set()
    waiting: set[str] = set()
    states: dict[str, PersonState] = {}
    queue: list[tuple[datetime, int, str, int]] = []
    for n, (partition, minutes) in enumerate(people):
        heapq.heappush(queue, (T0 + timedelta(minutes=minutes), n, f"key{n}", partition))
    end = T0 + horizon
    while queue:
        at, n, key, partition = heapq.heappop(queue)
        if at > end:
            break
        ctx = ctx_for(rates, spent.__getitem__, partitions, partition)
        state = states.get(key)
        item: Any = (enroll(eid=f"e{n}", at=at, contact_key=key, campaign_id=CAMPAIGN)
                     if state is None else CheckDueTouches(contact_key=key, issued_at=at))
        d = decide_person(state or PersonState(contact_key=key), item, at, ctx)
        states[key] = d.state
        for effect in d.effects:
            if isinstance(effect, ConsumeQuota):
                spent.update(quota_keys(partition, effect.campaign_id, effect.hour, effect.day))
            elif isinstance(effect, ConsumeCap):
                spent.update(cap_keys(partition, effect.day, effect.mailbox, effect.domain))
            elif isinstance(effect, Count) and effect.labels == (("reason", "campaign_rate"),):
                waiting.add(key)
        for emit in d.emits:
            if isinstance(emit.event, TouchRequested):
                requested.append(at)
                touched.add(key)
                waiting.discard(key)
        due = d.state.next_due_at
        if due is not None:
            heapq.heappush(queue, (max(due, at), n, key, partition))
    return requested, touched, waiting, len(queue)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitions=st.integers(1, 4), per_hour=st.integers(1, 4), per_day=st.integers(1, 12),
       people=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3 * 24 * 60)), min_size=1,
                       max_size=12))
def test_no_window_holds_more_than_approved_and_every_deferred_touch_goes_eventually(
        partitions: int, per_hour: int, per_day: int, people: list[tuple[int, int]]) -> None:
    people = [(p % partitions, m) for p, m in people]
    requested, touched, waiting, left = simulate(
        people, partitions, CampaignRates(per_hour, per_day), timedelta(days=1000))
    by_hour = Counter(t.replace(minute=0, second=0, microsecond=0) for t in requested)
    by_day = Counter(t.date() for t in requested)
    assert max(by_hour.values()) <= per_hour
    assert max(by_day.values()) <= per_day
    # Time ran until every sequence ended: each deferral was followed by its touch.
    assert left == 0 and waiting == set()
    assert touched == {f"key{n}" for n in range(len(people))}
