"""Properties of decide() driven as a scheduler would drive it.

A simulated world: engagement events and other campaigns' contacts arrive over time; the
scheduler advances ``now``, decides, performs the append (compare-and-set), sometimes lets the
sender report the touch, and sometimes replays an earlier key.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.sequencer import (
    ContactRef,
    SequenceDefinition,
    SequenceEventRecord,
    SequenceProjection,
    SequencerDecision,
    apply_append,
    decide,
    parse_definition,
)

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
AGG = "seq-prop:contact-p"
CONTACT = ContactRef(principal="sales-dev", audience="p@example.invalid")
HARD_STOPS = {"replied", "unsubscribed", "complained", "meeting_booked"}
STOP_KINDS = HARD_STOPS | {"hard_bounce"}
# Weighted towards engagement that must NOT stop a sequence, so runs get somewhere.
ENGAGEMENT = ["opened", "opened", "clicked", "clicked", "delivered", "delivered", "auto_replied",
              "soft_bounce", "hard_bounce", "replied", "unsubscribed", "complained",
              "meeting_booked"]
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def definition(n: int, min_days: float, cooling: float, stop_on: list[str]) -> SequenceDefinition:
    touches = [{"index": i, "channel": "email", "principal": "sales-dev", "audience": "buyer",
                "subject": f"Touch {i}", "content_digest": f"sha256:t{i}"} for i in range(1, n + 1)]
    return parse_definition({"touches": touches, "rules": {
        "min_days_apart": min_days, "stop_on": stop_on, "cooling_off_days": cooling}})


def engagement_record(kind: str, when: datetime) -> SequenceEventRecord:
    if kind.endswith("_bounce"):
        return SequenceEventRecord(type="bounced", occurred_at=when,
                                   bounce_kind="soft" if kind == "soft_bounce" else "hard")
    return SequenceEventRecord(type=kind, occurred_at=when)


def is_stop(record: SequenceEventRecord) -> bool:
    return record.type in HARD_STOPS or (record.type == "bounced" and record.bounce_kind == "hard")


@st.composite
def worlds(draw: st.DrawFn, stops: bool = True) -> dict[str, Any]:
    kinds = ENGAGEMENT if stops else [k for k in ENGAGEMENT if k not in STOP_KINDS]
    steps = draw(st.lists(st.integers(1, 60 * 48), min_size=10, max_size=60))
    horizon = sum(steps)  # minutes; outside events land inside the simulated span
    return {
        "definition": definition(
            draw(st.integers(1, 6)),
            draw(st.sampled_from([0, 0.25, 1, 2, 3, 4.5])),
            draw(st.sampled_from([0, 0.5, 1, 3])),
            draw(st.lists(st.sampled_from(sorted(HARD_STOPS | {"bounced"})), unique=True)),
        ),
        # Other campaigns' contacts land on half minutes so they never tie with a decision.
        "foreign": sorted(T0 + timedelta(minutes=m, seconds=30) for m in draw(
            st.lists(st.integers(-60 * 24 * 5, horizon), max_size=4))),
        "engagement": sorted(
            (engagement_record(k, T0 + timedelta(minutes=m)) for k, m in draw(st.lists(
                st.tuples(st.sampled_from(kinds), st.integers(0, horizon)), max_size=6))),
            key=lambda r: r.occurred_at),
        # Late enough in the run (10-100% of it) that touches usually went out before it.
        "stop": draw(st.none() | st.tuples(
            st.sampled_from(sorted(STOP_KINDS)),
            st.integers(10, 100).map(lambda pct: horizon * pct // 100),
        )) if stops else None,
        "steps": steps,
        "sender_reports": draw(st.lists(st.booleans(), min_size=len(steps), max_size=len(steps))),
        "replays": draw(st.lists(st.booleans(), min_size=len(steps), max_size=len(steps))),
    }


@dataclass
class Run:
    projection: SequenceProjection
    touches: list[tuple[datetime, int]] = field(default_factory=list)
    decisions: list[SequencerDecision] = field(default_factory=list)
    first_stop_at: datetime | None = None


def simulate(world: dict[str, Any]) -> Run:
    d: SequenceDefinition = world["definition"]
    run = Run(SequenceProjection(aggregate_id=AGG, version=0))
    pending = list(world["engagement"])
    if world.get("stop") is not None:  # one explicit stop event, so most runs see one
        kind, minute = world["stop"]
        pending = sorted([*pending, engagement_record(kind, T0 + timedelta(minutes=minute))],
                         key=lambda r: r.occurred_at)
    appended: list[SequencerDecision] = []
    now = T0
    for i, step in enumerate(world["steps"]):
        now += timedelta(minutes=step)
        while pending and pending[0].occurred_at <= now:
            record = pending.pop(0)
            version = run.projection.version
            run.projection = run.projection.appended(record)
            assert run.projection.version == version + 1
            if run.first_stop_at is None and is_stop(record):
                run.first_stop_at = record.occurred_at
        contacts = [f for f in world["foreign"] if f <= now] + [t for t, _ in run.touches]
        last_contact = max(contacts, default=None)
        key, before = f"{AGG}:step{i}", run.projection
        result = decide(d, before, CONTACT, key, before.version, now, last_contact_at=last_contact)
        # Deterministic: the same read and the same inputs decide the same thing.
        assert decide(d, before, CONTACT, key, before.version, now,
                      last_contact_at=last_contact) == result
        run.decisions.append(result)
        assert result.kind != "failure", result.outcome.escalation
        if run.first_stop_at is not None:
            assert result.kind in ("stop", "complete") and result.outcome.next_touch is None
        event = result.append_event
        if event is None:
            assert result.kind in ("wait", "stop", "complete")
        else:
            assert (event.expected_version, event.version) == (before.version, before.version + 1)
            run.projection = apply_append(before, event)
            assert run.projection.version == before.version + 1
            appended.append(result)
        packet = result.outcome.next_touch
        if packet is not None:
            assert event is not None and event.touch_index == packet.touch.index
            run.touches.append((now, packet.touch.index))
            if world["sender_reports"][i]:  # the sender reports back under the same key
                run.projection = run.projection.appended(SequenceEventRecord(
                    type="touch_sent", touch_index=packet.touch.index, occurred_at=now,
                    idempotency_key=key))
        if world["replays"][i] and appended:
            earlier = appended[i % len(appended)]
            assert earlier.append_event is not None
            replay = decide(d, run.projection, CONTACT, earlier.outcome.idempotency_key,
                            run.projection.version, now, last_contact_at=last_contact)
            assert replay.replayed and replay.append_event is None
            assert replay.outcome == earlier.outcome
            assert apply_append(run.projection, earlier.append_event) == run.projection
    return run


@PROPS
@given(worlds())
def test_scheduler_invariants(world: dict[str, Any]) -> None:
    run = simulate(world)
    rules = world["definition"].rules
    times = [t for t, _ in run.touches]
    # Touch indexes go 1, 2, 3, ... once each, never beyond the definition.
    assert [i for _, i in run.touches] == list(range(1, len(run.touches) + 1))
    assert len(run.touches) <= len(world["definition"].touches)
    # No two touches of this sequence closer than min_days_apart.
    for earlier, later in itertools.pairwise(times):
        assert later - earlier >= timedelta(days=rules.min_days_apart)
    # No touch closer than the cooling-off after another campaign's contact.
    for t in times:
        for foreign in world["foreign"]:
            if foreign < t:
                assert t - foreign >= timedelta(days=rules.cooling_off_days)
    # No touch once a stop event was seen.
    if run.first_stop_at is not None:
        assert all(t < run.first_stop_at for t in times)


@PROPS
@given(worlds(stops=False), st.integers(1, 6), st.sampled_from([0, 1, 3]))
def test_without_stops_every_touch_goes_out_and_the_sequence_completes(
    world: dict[str, Any], n: int, min_days: float
) -> None:
    world["definition"] = definition(n, min_days, 3, ["replied"])
    # Twice a day for long enough to fit every touch after any cooling-off.
    world["steps"] = [12 * 60] * int(2 * (n * (min_days + 1) + 34))
    world["sender_reports"] = world["replays"] = [True] * len(world["steps"])
    run = simulate(world)
    assert [i for _, i in run.touches] == list(range(1, n + 1))
    assert run.decisions[-1].kind == "complete"
    completions = [d for d in run.decisions if d.append_event and d.kind == "complete"]
    assert len(completions) == 1  # completion is recorded once, then only reported


@PROPS
@given(
    st.lists(st.tuples(st.sampled_from(ENGAGEMENT + ["touch_sent"] * 4), st.integers(0, 2000)),
             max_size=12),
    st.integers(0, 4000),
)
def test_any_history_with_a_stop_event_never_yields_a_touch(
    history: list[tuple[str, int]], now_hours: int
) -> None:
    records = []
    index = 0
    for kind, hours in history:
        when = T0 + timedelta(hours=hours)
        if kind == "touch_sent":
            index += 1
            records.append(SequenceEventRecord(type=kind, touch_index=index, occurred_at=when))
        else:
            records.append(engagement_record(kind, when))
    projection = SequenceProjection(aggregate_id=AGG, version=len(records), events=tuple(records))
    d = definition(6, 1, 0, [])
    result = decide(d, projection, CONTACT, "k", projection.version,
                    T0 + timedelta(hours=now_hours))
    if any(is_stop(r) for r in records):
        assert result.kind == "stop" and result.outcome.next_touch is None
        assert result.outcome.stop_state is not None
        assert result.outcome.stop_state.reason == next(
            "bounced" if r.type == "bounced" else r.type for r in records if is_stop(r))
    else:
        assert result.kind in ("next_touch", "wait", "complete")
