"""The due index: who is nudged on a tick, once, and only on owned partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streams.kernel.schedule import DueSchedule

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


def due_now(schedule: DueSchedule, now: datetime = T0, owned: frozenset[int] = frozenset({0, 1}),
            resend_after: float = 60.0) -> list[str]:
    return [key for key, _ in schedule.due(now, set(owned), resend_after)]


def test_nudges_only_what_is_due_and_only_once_while_outstanding() -> None:
    schedule = DueSchedule(2)
    schedule.update("a", T0 - timedelta(seconds=1), 0)
    schedule.update("b", T0 + timedelta(hours=1), 1)
    assert due_now(schedule) == ["a"]
    assert due_now(schedule) == []  # its nudge is outstanding
    assert due_now(schedule, T0 + timedelta(hours=2)) == ["b"]


def test_an_unanswered_nudge_is_repeated_after_resend_after() -> None:
    schedule = DueSchedule(2)
    schedule.update("a", T0, 0)
    assert due_now(schedule) == ["a"]
    assert due_now(schedule, resend_after=0.0) == ["a"]


def test_a_written_state_answers_the_nudge_and_moves_the_due_time() -> None:
    schedule = DueSchedule(2)
    schedule.update("a", T0, 0)
    assert due_now(schedule) == ["a"]
    schedule.update("a", T0 + timedelta(days=2), 0)  # touch taken, next one in two days
    assert due_now(schedule, T0 + timedelta(days=1)) == []
    assert due_now(schedule, T0 + timedelta(days=2)) == ["a"]


def test_an_answer_that_leaves_the_due_time_unchanged_re_arms_the_person() -> None:
    schedule = DueSchedule(2)
    schedule.update("a", T0, 0)
    assert due_now(schedule) == ["a"]
    schedule.update("a", T0, 0)  # e.g. a no-op event for the person, written meanwhile
    assert due_now(schedule, T0 + timedelta(hours=5)) == ["a"]


def test_a_person_with_nothing_due_is_never_nudged() -> None:
    schedule = DueSchedule(2)
    schedule.update("a", T0, 0)
    schedule.update("a", None, 0)  # stopped
    assert due_now(schedule, T0 + timedelta(days=365)) == []
    assert len(schedule) == 0


def test_partitions_this_worker_does_not_own_are_left_alone() -> None:
    schedule = DueSchedule(2)
    schedule.update("a", T0, 0)
    schedule.update("b", T0, 1)
    assert due_now(schedule, owned=frozenset({1})) == ["b"]


def test_rescan_rebuilds_from_the_table_for_owned_partitions_only() -> None:
    from streams.kernel.partitioning import partition_for

    keys = [f"{n:032x}" for n in range(40)]
    stored = [(k, str(T0.timestamp() - n)) for n, k in enumerate(keys)]
    schedule = DueSchedule(4)
    schedule.update("gone", T0, 0)  # not in the table any more: dropped by the rescan
    asyncio.run(schedule.rescan(stored, {0, 2}, lambda _k, raw: float(raw), T0))
    expected = {k for k in keys if partition_for(k, 4) in {0, 2}}
    assert set(due_now(schedule, owned=frozenset({0, 2}))) == expected
    assert schedule.scanned_for == {0, 2} and not schedule.stale


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(-5, 5) | st.none()), max_size=200))
def test_each_due_person_is_nudged_exactly_once_per_due_time(
        updates: list[tuple[int, int | None]]) -> None:
    """Whatever the order of writes, a tick yields exactly the persons whose latest due time
    has passed, each once, however many stale heap entries they left."""
    schedule = DueSchedule(1)
    latest: dict[str, int | None] = {}
    for person, offset in updates:
        key = f"p{person}"
        schedule.update(key, None if offset is None else T0 + timedelta(minutes=offset), 0)
        latest[key] = offset
    nudged = due_now(schedule, owned=frozenset({0}))
    assert sorted(nudged) == sorted(k for k, o in latest.items() if o is not None and o <= 0)
    assert len(nudged) == len(set(nudged))


@given(st.lists(st.tuples(st.sampled_from(["update", "tick", "answer"]), st.integers(0, 5),
                          st.integers(-3, 3) | st.none()), max_size=60))
def test_nobody_due_is_ever_stranded(steps: list[tuple[str, int, int | None]]) -> None:
    """Against a plain model of the rule: after any mix of writes, ticks and answered nudges,
    once every outstanding nudge is answered the next tick yields exactly who is due."""
    schedule = DueSchedule(1)
    due_at: dict[str, int | None] = {}
    for op, person, offset in steps:
        key = f"p{person}"
        if op == "tick":
            due_now(schedule, owned=frozenset({0}))
            continue
        if op == "answer":  # the person's nudge decided without moving the due time
            offset = due_at.get(key)
        schedule.update(key, None if offset is None else T0 + timedelta(minutes=offset), 0)
        due_at[key] = offset
    for key, offset in due_at.items():  # every nudge answered
        schedule.update(key, None if offset is None else T0 + timedelta(minutes=offset), 0)
    nudged = due_now(schedule, owned=frozenset({0}))
    assert sorted(nudged) == sorted(k for k, o in due_at.items() if o is not None and o <= 0)


def test_a_key_whose_decision_fails_is_held_and_the_others_of_the_nudge_are_decided() -> None:
    schedule = DueSchedule(2)
    for key in ("a", "b", "c"):
        schedule.update(key, T0 - timedelta(seconds=1), 0)
    assert schedule.due_by_partition(T0, {0, 1}, 60.0) == {0: ["a", "b", "c"]}

    def decide(key: str) -> str:
        if key == "b":
            raise ValueError("a broken person")
        return key.upper()

    assert schedule.each(["a", "b", "c"], decide) == ["A", "C"]
    # "b" is not nudged again, even when the unanswered nudges are repeated.
    assert sorted(due_now(schedule, resend_after=0.0)) == ["a", "c"]


# With a horizon: only persons due within it are held; the table is read again to move it on.

HOUR = 3600.0


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def read_table(table: dict[str, float]) -> list[tuple[str, float]]:
    return list(table.items())


def test_a_person_due_beyond_the_horizon_is_left_in_the_table_until_it_comes_within() -> None:
    table = {"soon": at(0.5).timestamp(), "in-two-days": at(48).timestamp()}
    schedule = DueSchedule(1, horizon_seconds=HOUR)
    asyncio.run(schedule.rescan(read_table(table), {0}, lambda _k, v: v, T0))
    assert len(schedule) == 1  # "in-two-days" is not held
    assert not schedule.needs_extending(at(0.4))
    assert schedule.needs_extending(at(0.5))  # half the horizon has passed
    assert due_now(schedule, at(0.5), owned=frozenset({0})) == ["soon"]
    asyncio.run(schedule.extend(read_table(table), {0}, lambda _k, v: v, at(47.5)))
    assert due_now(schedule, at(48), owned=frozenset({0})) == ["in-two-days"]


def test_a_write_beyond_the_horizon_drops_the_person_and_a_nearer_one_holds_it() -> None:
    schedule = DueSchedule(1, horizon_seconds=HOUR)
    asyncio.run(schedule.rescan([], {0}, lambda _k, v: v, T0))
    schedule.update("a", at(0.2), 0)
    schedule.update("a", at(72), 0)  # a touch taken, the next in three days
    assert len(schedule) == 0
    schedule.update("b", at(0.9), 0)
    assert due_now(schedule, at(1), owned=frozenset({0})) == ["b"]


def test_a_read_leaves_alone_a_person_written_while_it_read() -> None:
    """The read may hold an older state of a person written meanwhile: the write wins."""
    schedule = DueSchedule(1, horizon_seconds=HOUR)
    asyncio.run(schedule.rescan([], {0}, lambda _k, v: v, T0))

    def stale_table() -> Iterator[tuple[str, float]]:
        yield "x", at(0.1).timestamp()  # read before its write below...
        schedule.update("a", at(30), 0)  # ...this write moves "a" three days out
        yield "a", at(0.7).timestamp()  # the read's older state of "a"

    asyncio.run(schedule.extend(stale_table(), {0}, lambda _k, v: v, at(0.5)))
    assert due_now(schedule, at(1.4), owned=frozenset({0})) == ["x"]


def test_without_a_horizon_every_person_is_held_and_the_table_never_read_again() -> None:
    schedule = DueSchedule(1)
    asyncio.run(schedule.rescan([("far", at(24 * 365).timestamp())], {0}, lambda _k, v: v, T0))
    assert len(schedule) == 1
    assert not schedule.needs_extending(at(24 * 364))


@given(st.lists(st.tuples(st.sampled_from(["write", "tick"]), st.integers(0, 6),
                          st.integers(0, 40) | st.none()), max_size=80))
def test_with_a_horizon_nobody_is_nudged_late_or_early(
        steps: list[tuple[str, int, int | None]]) -> None:
    """Against the table as the truth: time moves a tenth of the horizon a step, the table is
    read again whenever the schedule asks, and each tick nudges exactly the persons whose
    stored due time has passed and who were not nudged for that due time yet."""
    schedule = DueSchedule(1, horizon_seconds=HOUR)
    table: dict[str, float] = {}
    asyncio.run(schedule.rescan([], {0}, lambda _k, v: v, T0))
    nudged_for: dict[str, float] = {}
    for n, (op, person, due_in_tenths) in enumerate(steps):
        now = at(n / 10)
        if op == "write":
            key = f"p{person}"
            due = None if due_in_tenths is None else at((n + due_in_tenths) / 10)
            if due is None:
                table.pop(key, None)
            else:
                table[key] = due.timestamp()
            schedule.update(key, due, 0)
            nudged_for.pop(key, None)
            continue
        if schedule.needs_extending(now):
            asyncio.run(schedule.extend(read_table(table), {0}, lambda _k, v: v, now))
        nudged = due_now(schedule, now, owned=frozenset({0}), resend_after=1e9)
        expected = sorted(k for k, due_at in table.items()
                          if due_at <= now.timestamp() and nudged_for.get(k) != due_at)
        assert sorted(nudged) == expected
        nudged_for.update({k: table[k] for k in nudged})
