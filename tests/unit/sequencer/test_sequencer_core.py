"""decide() as a pure function: boundary tables for next / wait / stop / complete / failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.sequencer import (
    AppendRejected,
    ContactRef,
    InvalidSequenceInput,
    SequenceDefinition,
    SequenceEventRecord,
    SequenceProjection,
    SequencerDecision,
    apply_append,
    decide,
    parse_definition,
)

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
AGG = "seq-acme-001:contact-jane"
KEY = "outreach-sequencer:seq-acme-001:contact-jane:k"
CONTACT = ContactRef(principal="sales-dev", audience="jane@example.invalid", channel="email")
APPENDED_TYPES = {"touch_requested", "sequence_stopped", "sequence_completed"}


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def defn(n: int = 3, min_days: float = 3, cooling: float = 0,
         stop_on: tuple[str, ...] = ("replied", "unsubscribed")) -> SequenceDefinition:
    touches = [{"index": i, "channel": "phone_task" if i % 2 == 0 else "email",
                "principal": "sales-dev", "audience": "buyer", "subject": f"Touch {i}",
                "content_digest": f"sha256:touch{i}"} for i in range(1, n + 1)]
    return parse_definition({"touches": touches, "rules": {
        "min_days_apart": min_days, "stop_on": list(stop_on), "cooling_off_days": cooling}})


def ev(type_: str, day: float, index: int | None = None, **extra: Any) -> SequenceEventRecord:
    return SequenceEventRecord(type=type_, touch_index=index, occurred_at=at(day), **extra)


def sent(index: int, day: float) -> SequenceEventRecord:
    return ev("touch_sent", day, index)


def proj(*events: SequenceEventRecord, version: int | None = None) -> SequenceProjection:
    return SequenceProjection(
        aggregate_id=AGG, version=len(events) if version is None else version, events=events
    )


def run(p: SequenceProjection | None, now: float, d: SequenceDefinition | None = None,
        **kw: Any) -> SequencerDecision:
    expected = kw.pop("expected_version", p.version if p else 0)
    return decide(d or defn(), p, CONTACT, kw.pop("key", KEY), expected, at(now), **kw)


def assert_no_side_effects(result: SequencerDecision) -> None:
    """Whatever the decision: at most its own append, never an engagement event."""
    if result.append_event is not None:
        assert result.append_event.type in APPENDED_TYPES
    if result.kind != "next_touch":
        assert result.outcome.next_touch is None


# --- next touch / wait ------------------------------------------------------------------------

LAST_CONTACT = "last_contact"
WAIT_TABLE = [
    # id, events, now, definition kwargs, last_contact day, expected kind, wait_until day, reason
    ("first-touch-now", (), 0, {}, None, "next_touch", None, None),
    ("just-before-min", (sent(1, 0),), 3 - 1e-6, {}, None, "wait", 3, "min_days_apart"),
    ("exactly-min", (sent(1, 0),), 3, {}, None, "next_touch", None, None),
    ("after-min", (sent(1, 0),), 3.5, {}, None, "next_touch", None, None),
    ("min-zero", (sent(1, 0),), 0, {"min_days": 0}, None, "next_touch", None, None),
    ("fractional-min", (sent(1, 0),), 0.49, {"min_days": 0.5}, None, "wait", 0.5,
     "min_days_apart"),
    ("cooling-first-touch", (), 2, {"cooling": 3}, 0, "wait", 3, "cooling_off"),
    ("cooling-first-touch-over", (), 3, {"cooling": 3}, 0, "next_touch", None, None),
    ("cooling-zero", (), 0, {"cooling": 0}, 0, "next_touch", None, None),
    ("foreign-after-own", (sent(1, 0),), 3, {"min_days": 1, "cooling": 3}, 1, "wait", 4,
     "cooling_off"),
    ("foreign-after-own-over", (sent(1, 0),), 4, {"min_days": 1, "cooling": 3}, 1,
     "next_touch", None, None),
    ("foreign-before-own", (sent(1, 0),), 2, {"min_days": 3, "cooling": 3}, -5, "wait", 3,
     "min_days_apart"),
    ("own-cadence-not-cooled", (sent(1, 0),), 1, {"min_days": 1, "cooling": 3}, 0,
     "next_touch", None, None),
    ("requested-counts", (ev("touch_requested", 0, 1),), 1, {}, None, "wait", 3,
     "min_days_apart"),
    ("send-later-than-request", (ev("touch_requested", 0, 1), sent(1, 0.5)), 3.2, {}, None,
     "wait", 3.5, "min_days_apart"),
    ("out-of-order-history", (sent(2, 3), sent(1, 0)), 5, {}, None, "wait", 6,
     "min_days_apart"),
    ("engagement-does-not-pace", (sent(1, 0), ev("opened", 2), ev("clicked", 2.5)), 3, {}, None,
     "next_touch", None, None),
    ("soft-bounce-no-stop", (sent(1, 0), ev("bounced", 1, bounce_kind="soft")), 3, {}, None,
     "next_touch", None, None),
    ("auto-reply-no-stop", (sent(1, 0), ev("auto_replied", 0.1)), 3, {}, None, "next_touch",
     None, None),
    ("unknown-type-ignored", (sent(1, 0), ev("delivered", 0.1), ev("weird", 1)), 3, {}, None,
     "next_touch", None, None),
]


@pytest.mark.parametrize(
    ("events", "now", "dkw", "contact", "kind", "until", "reason"),
    [row[1:] for row in WAIT_TABLE], ids=[row[0] for row in WAIT_TABLE],
)
def test_next_or_wait(events: tuple[SequenceEventRecord, ...], now: float, dkw: dict[str, Any],
                      contact: float | None, kind: str, until: float | None,
                      reason: str | None) -> None:
    p = proj(*events)
    result = run(p, now, defn(**dkw), last_contact_at=None if contact is None else at(contact))
    assert result.kind == kind
    assert_no_side_effects(result)
    if kind == "wait":
        assert result.outcome.wait_until == at(until or 0)
        assert result.outcome.wait_reason == reason
        assert result.append_event is None
        return
    packet = result.outcome.next_touch
    assert packet is not None and result.append_event is not None
    assert packet.touch == defn(**dkw).touch(p.last_touch_index + 1)
    assert packet.contact_ref == CONTACT
    assert (packet.aggregate_id, packet.idempotency_key, packet.due_at) == (AGG, KEY, at(now))
    assert packet.packet == "runx.outreach.next_touch.v1"
    event = result.append_event
    assert (event.type, event.touch_index) == ("touch_requested", packet.touch.index)
    assert (event.expected_version, event.version) == (p.version, p.version + 1)
    assert event.idempotency_key == KEY and event.occurred_at == at(now)
    assert event.decision == result.outcome


# --- stop -------------------------------------------------------------------------------------

STOP_TABLE = [
    # id, events, now, stop_on, expected reason, appends
    ("replied", (sent(1, 0), ev("replied", 1)), 5, ("replied",), "replied", True),
    ("unsubscribed", (sent(1, 0), ev("unsubscribed", 1)), 5, ("replied",), "unsubscribed", True),
    ("hard-bounce-not-listed", (sent(1, 0), ev("bounced", 0.1, bounce_kind="hard")), 5, (),
     "bounced", True),
    ("bounce-unknown-kind", (sent(1, 0), ev("bounced", 0.1)), 5, (), "bounced", True),
    ("complained-not-listed", (sent(1, 0), ev("complained", 2)), 5, ("replied",), "complained",
     True),
    ("meeting-not-listed", (sent(1, 0), ev("meeting_booked", 2)), 5, (), "meeting_booked", True),
    ("reply-not-listed-still-stops", (sent(1, 0), ev("replied", 1)), 5, ("unsubscribed",),
     "replied", True),
    ("stop-before-any-touch", (ev("replied", 0),), 0, ("replied",), "replied", True),
    ("stop-inside-wait-window", (sent(1, 0), ev("replied", 0.5)), 1, ("replied",), "replied",
     True),
    ("stop-beats-complete", (sent(1, 0), sent(2, 3), sent(3, 6), ev("replied", 7)), 9,
     ("replied",), "replied", True),
    ("first-stop-wins", (sent(1, 0), ev("unsubscribed", 1), ev("replied", 2)), 5, ("replied",),
     "unsubscribed", True),
    ("operator-stop", (sent(1, 0), ev("stopped", 1, reason="campaign_cancelled")), 5, (),
     "campaign_cancelled", False),
    ("operator-stop-no-reason", (sent(1, 0), ev("sequence_stopped", 1)), 5, (), "stopped", False),
]


@pytest.mark.parametrize(
    ("events", "now", "stop_on", "reason", "appends"),
    [row[1:] for row in STOP_TABLE], ids=[row[0] for row in STOP_TABLE],
)
def test_stop(events: tuple[SequenceEventRecord, ...], now: float, stop_on: tuple[str, ...],
              reason: str, appends: bool) -> None:
    p = proj(*events)
    result = run(p, now, defn(stop_on=stop_on))
    assert result.kind == "stop"
    assert result.outcome.next_touch is None
    state = result.outcome.stop_state
    assert state is not None and state.reason == reason
    assert state.last_touch_index == p.last_touch_index
    assert (result.append_event is not None) == appends
    if result.append_event is not None:
        assert result.append_event.type == "sequence_stopped"
        assert result.append_event.reason == reason
        assert result.append_event.version == p.version + 1
    assert_no_side_effects(result)


def test_recorded_stop_is_terminal_and_appends_nothing() -> None:
    p = proj(sent(1, 0), ev("replied", 1))
    first = run(p, 2)
    assert first.append_event is not None
    p = apply_append(p, first.append_event)
    for later_day in (2.5, 30, 365):
        again = run(p, later_day, key="another-key")
        assert again.kind == "stop" and again.append_event is None
        assert again.outcome.stop_state == first.outcome.stop_state


# --- complete ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("events", "appends"),
    [
        ((sent(1, 0), sent(2, 3), sent(3, 6)), True),
        ((ev("touch_requested", 6, 3),), True),
        ((sent(5, 6),), True),  # the definition shrank under a running sequence
        ((sent(1, 0), sent(2, 3), sent(3, 6), ev("sequence_completed", 7)), False),
        ((sent(1, 0), sent(2, 3), sent(3, 6), ev("completed", 7), ev("replied", 8)), False),
    ],
    ids=["all-sent", "last-requested", "beyond-definition", "recorded", "reply-after-recorded"],
)
def test_complete(events: tuple[SequenceEventRecord, ...], appends: bool) -> None:
    p = proj(*events)
    result = run(p, 6.5)
    assert result.kind == "complete"
    assert result.outcome.next_touch is None
    assert (result.append_event is not None) == appends
    if result.append_event is not None:
        assert result.append_event.type == "sequence_completed"


# --- failure ----------------------------------------------------------------------------------

def _with_decision(record_type: str, key: str, decision: dict[str, Any] | None) -> Any:
    return ev(record_type, 0, 1, idempotency_key=key, decision=decision)


FAILURE_TABLE = [
    # id, projection, kwargs, reason, message fragments
    ("missing", None, {}, "projection_missing", ("no sequence state",)),
    ("stale-version", proj(sent(1, 0), version=7), {"expected_version": 6}, "version_conflict",
     ("expected_version 6", "version 7")),
    ("ahead-version", proj(version=2), {"expected_version": 3}, "version_conflict",
     ("expected_version 3", "version 2")),
    ("touch-index-behind", proj(sent(1, 0), sent(2, 3)), {"current_touch_index": 1},
     "touch_index_mismatch", ("current_touch_index 1", "last touch is 2")),
    ("touch-index-ahead", proj(sent(1, 0)), {"current_touch_index": 2}, "touch_index_mismatch",
     ("current_touch_index 2",)),
    ("aggregate-mismatch", proj(), {"aggregate_id": "seq-x:other"}, "aggregate_mismatch",
     ("seq-x:other",)),
    ("key-used-by-sender", proj(_with_decision("touch_sent", KEY, None)), {},
     "idempotency_key_conflict", ("touch_sent",)),
    ("key-with-corrupt-decision", proj(_with_decision("touch_requested", KEY, {"kind": "?"})), {},
     "idempotency_key_conflict", ("unreadable",)),
]


@pytest.mark.parametrize(
    ("p", "kw", "reason", "fragments"),
    [row[1:] for row in FAILURE_TABLE], ids=[row[0] for row in FAILURE_TABLE],
)
def test_failure(p: SequenceProjection | None, kw: dict[str, Any], reason: str,
                 fragments: tuple[str, ...]) -> None:
    result = run(p, 10, **kw)
    assert result.kind == "failure"
    assert result.append_event is None and result.outcome.next_touch is None
    esc = result.outcome.escalation
    assert esc is not None and esc.reason == reason and esc.needs == "agent"
    for fragment in fragments:
        assert fragment in esc.message
    if reason == "version_conflict":
        assert p is not None
        assert (esc.expected_version, esc.actual_version) == (kw["expected_version"], p.version)


def test_missing_projection_names_the_aggregate_when_given() -> None:
    result = run(None, 0, aggregate_id=AGG)
    assert result.outcome.escalation is not None
    assert result.outcome.escalation.aggregate_id == AGG


def test_consistent_current_touch_index_is_accepted() -> None:
    assert run(proj(sent(1, 0), sent(2, 3)), 6, current_touch_index=2).kind == "next_touch"
    assert run(proj(), 0, current_touch_index=0).kind == "next_touch"


# --- idempotency and the store's compare-and-set ---------------------------------------------

@pytest.mark.parametrize(
    "events",
    [(sent(1, 0),), (sent(1, 0), ev("replied", 1)), (sent(1, 0), sent(2, 3), sent(3, 6))],
    ids=["next", "stop", "complete"],
)
def test_replay_returns_the_earlier_outcome_and_appends_nothing(
    events: tuple[SequenceEventRecord, ...],
) -> None:
    p = proj(*events)
    first = run(p, 7)
    assert first.append_event is not None
    after = apply_append(p, first.append_event)
    # Later, with the version moved on and even new engagement: the same key replays.
    after = after.appended(ev("unsubscribed", 8))
    replay = run(after, 20, expected_version=p.version)
    assert replay.replayed and replay.append_event is None
    assert replay.outcome == first.outcome
    assert apply_append(after, first.append_event) == after


def test_sender_reusing_the_key_keeps_the_decision_replayable() -> None:
    p = proj(sent(1, 0))
    first = run(p, 3)
    assert first.append_event is not None
    p = apply_append(p, first.append_event).appended(ev("touch_sent", 3.1, 2, idempotency_key=KEY))
    assert run(p, 4).outcome == first.outcome


def test_apply_append_is_compare_and_set() -> None:
    p = proj(sent(1, 0))
    result = run(p, 3)
    assert result.append_event is not None
    with pytest.raises(AppendRejected, match=r"expected_version 1 but .* version 2"):
        apply_append(p.appended(ev("opened", 1)), result.append_event)
    with pytest.raises(AppendRejected, match="sent to"):
        apply_append(SequenceProjection(aggregate_id="other", version=1), result.append_event)
    applied = apply_append(p, result.append_event)
    assert applied.version == 2 and applied.last_touch_index == 2


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"now": datetime(2026, 6, 1)}, "now: must be a timezone-aware"),
        ({"last_contact_at": datetime(2026, 6, 1)}, "last_contact_at"),
        ({"key": ""}, "idempotency_key"),
        ({"expected_version": True}, "expected_version"),
        ({"expected_version": "7"}, "expected_version"),
    ],
)
def test_bad_arguments_raise(kw: dict[str, Any], message: str) -> None:
    now = kw.pop("now", T0)
    args: dict[str, Any] = {"key": KEY, "expected_version": 0} | kw
    with pytest.raises(InvalidSequenceInput, match=message):
        decide(defn(), proj(), CONTACT, args.pop("key"), args.pop("expected_version"), now, **args)


def test_non_utc_times_are_normalised() -> None:
    from datetime import timezone

    plus2 = timezone(timedelta(hours=2))
    p = proj(ev("touch_sent", 0, 1))
    result = decide(defn(), p, CONTACT, KEY, 1, (T0 + timedelta(days=3)).astimezone(plus2))
    assert result.kind == "next_touch"
    assert result.outcome.decided_at.tzinfo == UTC
