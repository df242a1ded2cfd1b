"""Properties of the person core (`decide_person`, what the worker runs) driven as the worker
drives it, over simulated worlds.

A person is enrolled; engagement events and other campaigns' contacts arrive over time; the
due-index nudges the person; the sender sometimes reports the touch; old commands and send
reports are sometimes redelivered.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.sequencer.definition import SequenceDefinition, parse_definition
from agents.sequencer.harness import run_case
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.person_state import approved_campaign
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CheckDueTouches,
    EngagementRecorded,
    EnrollContact,
    OutreachErrorRaised,
    SendRecorded,
    SequenceEventAppended,
    TouchRequested,
)

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
KEY = "0123456789abcdef0123456789abcdef"
STRATEGY = "PERSONALIZED_EMAIL"  # mapped to the drawn definition
ALWAYS = SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7)))
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


def is_stop(kind: str) -> bool:
    return kind in STOP_KINDS


@st.composite
def worlds(draw: st.DrawFn, stops: bool = True) -> dict[str, Any]:
    kinds = ENGAGEMENT if stops else [k for k in ENGAGEMENT if k not in STOP_KINDS]
    steps = draw(st.lists(st.integers(1, 60 * 48), min_size=10, max_size=60))
    horizon = sum(steps)  # minutes; outside events land inside the simulated span
    engagement = draw(st.lists(st.tuples(st.sampled_from(kinds), st.integers(0, horizon)),
                               max_size=6))
    # Late enough in the run (10-100% of it) that touches usually went out before it.
    stop = draw(st.none() | st.tuples(
        st.sampled_from(sorted(STOP_KINDS)),
        st.integers(10, 100).map(lambda pct: horizon * pct // 100))) if stops else None
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
        "engagement": sorted(((T0 + timedelta(minutes=m), k) for k, m in
                              [*engagement, *([stop] if stop else [])])),
        "steps": steps,
        "sender_reports": draw(st.lists(st.booleans(), min_size=len(steps), max_size=len(steps))),
        "replays": draw(st.lists(st.booleans(), min_size=len(steps), max_size=len(steps))),
    }


@dataclass
class Run:
    state: PersonState
    ctx: SequencerContext
    touches: list[tuple[datetime, int, str]] = field(default_factory=list)
    appends: list[SequenceEventAppended] = field(default_factory=list)
    stop_seen: bool = False
    aggregate_id: str = ""
    sends: list[SendRecorded] = field(default_factory=list)

    def feed(self, item: Any, now: datetime) -> Decision[PersonState]:
        d = decide_person(self.state, item, now, self.ctx)
        # Deterministic: the same state and input decide the same thing.
        assert decide_person(self.state, item, now, self.ctx) == d
        for emit in d.emits:
            event = emit.event
            assert not isinstance(event, OutreachErrorRaised), event.reason
            if isinstance(event, TouchRequested):
                assert not self.stop_seen, "a touch after a stop event"
                self.touches.append((now, event.touch_index, event.idempotency_key))
            if isinstance(event, SequenceEventAppended):
                self.appends.append(event)
                if d.state.active is not None:  # the append is the aggregate's new version
                    assert d.state.active.projection.version == event.version
        if self.stop_seen:
            assert d.state.active is None
        self.state = d.state
        if d.state.active is not None:
            self.aggregate_id = d.state.active.aggregate_id
        return d


def simulate(world: dict[str, Any]) -> Run:
    ctx = SequencerContext(
    campaign_status=approved_campaign, definitions={STRATEGY: world["definition"]}, window=ALWAYS,
                           caps=DailyCaps(), ids=STABLE_IDS)
    before = [f for f in world["foreign"] if f <= T0]
    run = Run(PersonState(contact_key=KEY, last_contact_at=max(before, default=None)), ctx)
    run.feed(EnrollContact(enrollment_id="e-1", contact_key=KEY, lead_id="l-1",
                           strategy=STRATEGY, to_email="p@example.invalid", correlation_id="c",
                           requested_at=T0), T0)
    # Engagement and other campaigns' contacts, in the order they happen.
    arrivals = sorted([(t, kind) for t, kind in world["engagement"]]
                      + [(f, "foreign") for f in world["foreign"] if f > T0])
    now = T0
    for i, step in enumerate(world["steps"]):
        now += timedelta(minutes=step)
        while arrivals and arrivals[0][0] <= now:
            when, kind = arrivals.pop(0)
            if kind == "foreign":  # the person's last contact, whoever made it
                run.state = run.state.model_copy(update={"last_contact_at": when})
                continue
            bounce = kind.removesuffix("_bounce") if kind.endswith("_bounce") else None
            run.feed(EngagementRecorded(
                event_id=f"ev-{len(arrivals)}", occurred_at=when, correlation_id="c",
                process_id="outreach-execution-engage-20260601-0badcafe",
                aggregate_id=run.aggregate_id, contact_key=KEY, provider="sendgrid",
                provider_event_id=f"p-{len(arrivals)}", type="bounced" if bounce else kind,
                bounce_kind=bounce), when)
            run.stop_seen = run.stop_seen or is_stop(kind)
        taken = len(run.touches)
        run.feed(CheckDueTouches(contact_key=KEY, issued_at=now), now)
        for _, index, key in run.touches[taken:]:
            if world["sender_reports"][i]:  # the sender reports back under the touch's key
                report = SendRecorded(
                    event_id=f"s-{key}", occurred_at=now, correlation_id="c",
                    process_id="outreach-execution-send-20260601-0badcafe",
                    aggregate_id=run.aggregate_id, contact_key=KEY, touch_index=index,
                    idempotency_key=key, status="sent")
                run.sends.append(report)
                run.feed(report, now)
        if world["replays"][i] and run.touches:
            _replay(run, i, now)
    return run


def _replay(run: Run, i: int, now: datetime) -> None:
    """A redelivered command or send report appends nothing and changes nothing."""
    _, _, key = run.touches[i % len(run.touches)]
    if run.state.active is not None:
        state = run.state
        d = run.feed(CheckDueTouches(contact_key=KEY, issued_at=now, idempotency_key=key,
                                     aggregate_id=run.aggregate_id, expected_version=0), now)
        assert d.state == state and not d.emits and not d.effects
    if run.sends:
        state = run.state
        d = run.feed(run.sends[i % len(run.sends)], now)
        assert d.state == state and not d.emits


@PROPS
@given(worlds())
def test_scheduler_invariants(world: dict[str, Any]) -> None:
    run = simulate(world)
    rules = world["definition"].rules
    times = [t for t, _, _ in run.touches]
    # Touch indexes go 1, 2, 3, ... once each, never beyond the definition.
    assert [i for _, i, _ in run.touches] == list(range(1, len(run.touches) + 1))
    assert len(run.touches) <= len(world["definition"].touches)
    # No two touches of this sequence closer than min_days_apart.
    for earlier, later in itertools.pairwise(times):
        assert later - earlier >= timedelta(days=rules.min_days_apart)
    # No touch closer than the cooling-off after another campaign's contact.
    for t in times:
        for foreign in world["foreign"]:
            if foreign < t:
                assert t - foreign >= timedelta(days=rules.cooling_off_days)
    # The aggregate's versions only move forward, and it ends at most once.
    versions = [a.version for a in run.appends]
    assert versions == sorted(set(versions))
    assert sum(a.status != "active" for a in run.appends) <= 1


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
    assert [i for _, i, _ in run.touches] == list(range(1, n + 1))
    assert run.state.active is None and run.state.history[-1].status == "completed"
    # Completion is recorded once, then only reported.
    assert [a.type for a in run.appends].count("sequence_completed") == 1


def _projection_case(history: list[tuple[str, int]], now_hours: int) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    index = 0
    for kind, hours in history:
        when = (T0 + timedelta(hours=hours)).isoformat()
        if kind == "touch_sent":
            index += 1
            events.append({"type": kind, "touch_index": index, "occurred_at": when})
        elif kind.endswith("_bounce"):
            events.append({"type": "bounced", "occurred_at": when,
                           "bounce_kind": kind.removesuffix("_bounce")})
        else:
            events.append({"type": kind, "occurred_at": when})
    touches = [{"index": i, "channel": "email", "principal": "sales-dev", "audience": "buyer",
                "subject": f"Touch {i}", "content_digest": f"sha256:t{i}"} for i in range(1, 7)]
    rules = {"min_days_apart": 1, "stop_on": []}
    return {"sequence_definition": {"touches": touches, "rules": rules},
            "aggregate_id": "seq-prop:contact-p", "store_id": "s", "idempotency_key": "k",
            "contact_ref": {"principal": "sales-dev", "audience": "p@example.invalid"},
            "expected_version": len(events), "engagement_projection": {
                "aggregate_id": "seq-prop:contact-p", "version": len(events),
                "operation_result": {"status": "ok"}, "events": events},
            "now": (T0 + timedelta(hours=now_hours)).isoformat()}


@PROPS
@given(
    st.lists(st.tuples(st.sampled_from(ENGAGEMENT + ["touch_sent"] * 4), st.integers(0, 2000)),
             max_size=12),
    st.integers(0, 4000),
)
def test_any_history_with_a_stop_event_never_yields_a_touch(
    history: list[tuple[str, int]], now_hours: int
) -> None:
    result = run_case(_projection_case(history, now_hours))
    stops = [kind for kind, _ in history if is_stop(kind)]
    if stops:
        assert result["decision"]["kind"] == "stop" and result["next_touch_packet"] is None
        assert result["stop_state"]["reason"] == stops[0].replace("hard_bounce", "bounced")
    else:
        assert result["decision"]["kind"] in ("next_touch", "wait", "complete")
