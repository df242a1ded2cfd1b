"""The sequence rules of SPEC §3 (seed 002) as `sequencer decide` answers them: boundary tables
for next touch / wait / stop / complete / failure, run through the harness, which drives the
person core the worker runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.sequencer.harness import run_case

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
AGG = "seq-acme-001:contact-jane"
KEY = "outreach-sequencer:seq-acme-001:contact-jane:k"
STORE = "runx.outreach.sequence_state.v1"
CONTACT = {"principal": "sales-dev", "audience": "jane@example.invalid", "channel": "email"}


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat().replace("+00:00", "Z")


def touch(i: int) -> dict[str, Any]:
    return {"index": i, "channel": "phone_task" if i % 2 == 0 else "email",
            "principal": "sales-dev", "audience": "buyer", "subject": f"Touch {i}",
            "content_digest": f"sha256:touch{i}"}


def defn(n: int = 3, min_days: float = 3, cooling: float = 0,
         stop_on: tuple[str, ...] = ("replied", "unsubscribed")) -> dict[str, Any]:
    return {"touches": [touch(i) for i in range(1, n + 1)], "rules": {
        "min_days_apart": min_days, "stop_on": list(stop_on), "cooling_off_days": cooling}}


def ev(type_: str, day: float, index: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "touch_index": index, "occurred_at": at(day), **extra}


def sent(index: int, day: float) -> dict[str, Any]:
    return ev("touch_sent", day, index)


def case(events: tuple[dict[str, Any], ...], now: float | str,
         d: dict[str, Any] | None = None, *, version: int | None = None,
         **over: Any) -> dict[str, Any]:
    """A harness case whose projection, at ``version``, holds ``events``."""
    version = len(events) if version is None else version
    projection = {"aggregate_id": AGG, "store_id": STORE, "version": version,
                  "operation_result": {"status": "ok"},
                  "events": list(events)}
    return {"sequence_definition": d or defn(), "aggregate_id": AGG, "contact_ref": CONTACT,
            "store_id": STORE, "idempotency_key": KEY, "expected_version": version,
            "engagement_projection": projection,
            "now": now if isinstance(now, str) else at(now)} | over


def missing() -> dict[str, Any]:
    """A case whose store found no projection."""
    c = case((), 10)
    c["engagement_projection"]["operation_result"]["status"] = "missing"
    return c


def appended(events: tuple[dict[str, Any], ...], result: dict[str, Any]) -> tuple[
        dict[str, Any], ...]:
    """The projection's events after the store performed the decision's append."""
    a = result["append_event"]
    return (*events, {k: a[k] for k in ("type", "touch_index", "occurred_at", "idempotency_key",
                                         "reason", "decision")})


# --- next touch / wait ------------------------------------------------------------------------

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
def test_next_or_wait(events: tuple[dict[str, Any], ...], now: float, dkw: dict[str, Any],
                      contact: float | None, kind: str, until: float | None,
                      reason: str | None) -> None:
    extra = {} if contact is None else {"last_contact_at": at(contact)}
    result = run_case(case(events, now, defn(**dkw), **extra))
    decision = result["decision"]
    assert decision["kind"] == kind and result["status"] == "sealed"
    assert result["stop_state"] is None and result["escalation"] is None
    if kind == "wait":
        assert (decision["wait_until"], decision["wait_reason"]) == (at(until or 0), reason)
        assert result["append_event"] is None and result["next_touch_packet"] is None
        return
    last = max((e["touch_index"] or 0 for e in events), default=0)
    packet = result["next_touch_packet"]
    assert packet == {"packet": "runx.outreach.next_touch.v1", "aggregate_id": AGG,
                      "touch": touch(last + 1), "contact_ref": CONTACT, "idempotency_key": KEY,
                      "due_at": at(now)}
    append = result["append_event"]
    assert (append["type"], append["touch_index"]) == ("touch_requested", last + 1)
    # One append, compare-and-set on the version read, which it moves by exactly one.
    assert (append["expected_version"], append["version"]) == (len(events), len(events) + 1)
    assert (append["idempotency_key"], append["occurred_at"]) == (KEY, at(now))
    assert append["decision"]["next_touch"] == packet


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
def test_stop(events: tuple[dict[str, Any], ...], now: float, stop_on: tuple[str, ...],
              reason: str, appends: bool) -> None:
    result = run_case(case(events, now, defn(stop_on=stop_on)))
    assert result["decision"]["kind"] == "stop" and result["next_touch_packet"] is None
    last = max((e["touch_index"] or 0 for e in events), default=0)
    assert result["stop_state"]["reason"] == reason
    assert result["stop_state"]["last_touch_index"] == last
    append = result["append_event"]
    assert (append is not None) == appends
    if append is not None:
        assert (append["type"], append["reason"]) == ("sequence_stopped", reason)
        assert append["version"] == len(events) + 1


def test_a_recorded_stop_is_terminal_and_appends_nothing() -> None:
    events = (sent(1, 0), ev("replied", 1))
    first = run_case(case(events, 2))
    assert first["append_event"] is not None
    events = appended(events, first)
    for later_day in (2.5, 30, 365):
        again = run_case(case(events, later_day, idempotency_key="another-key"))
        assert again["decision"]["kind"] == "stop" and again["append_event"] is None
        assert again["next_touch_packet"] is None
        assert again["stop_state"] == first["stop_state"]


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
def test_complete(events: tuple[dict[str, Any], ...], appends: bool) -> None:
    result = run_case(case(events, 6.5))
    assert result["decision"]["kind"] == "complete" and result["next_touch_packet"] is None
    assert (result["append_event"] is not None) == appends
    if appends:
        assert result["append_event"]["type"] == "sequence_completed"


# --- failure: escalated to an agent, nothing appended ------------------------------------------

FAILURE_TABLE = [
    # id, case, reason, message fragments
    ("missing", missing(), "projection_missing", ("no sequence state",)),
    ("stale-version", case((sent(1, 0),), 10, version=7) | {"expected_version": 6},
     "version_conflict", ("expected_version 6", "version 7")),
    ("ahead-version", case((), 10, version=2) | {"expected_version": 3}, "version_conflict",
     ("expected_version 3", "version 2")),
    ("touch-index-behind", case((sent(1, 0), sent(2, 3)), 10, current_touch_index=1),
     "touch_index_mismatch", ("current_touch_index 1", "last touch is 2")),
    ("touch-index-ahead", case((sent(1, 0),), 10, current_touch_index=2),
     "touch_index_mismatch", ("current_touch_index 2",)),
    ("aggregate-mismatch", case((), 10, aggregate_id="seq-x:other"), "aggregate_mismatch",
     ("seq-x:other",)),
    ("key-used-by-sender", case((ev("touch_sent", 0, 1, idempotency_key=KEY),), 10),
     "idempotency_key_conflict", ("touch_sent",)),
]


@pytest.mark.parametrize(("inputs", "reason", "fragments"),
                         [row[1:] for row in FAILURE_TABLE], ids=[row[0] for row in FAILURE_TABLE])
def test_failure(inputs: dict[str, Any], reason: str, fragments: tuple[str, ...]) -> None:
    result = run_case(inputs)
    assert result["status"] == "failure" and result["decision"]["kind"] == "failure"
    assert result["append_event"] is None and result["next_touch_packet"] is None
    esc = result["escalation"]
    assert (esc["reason"], esc["needs"], esc["aggregate_id"]) == (reason, "agent",
                                                                  inputs["aggregate_id"])
    for fragment in fragments:
        assert fragment in esc["message"]
    if reason == "version_conflict":
        assert (esc["expected_version"], esc["actual_version"]) == (
            inputs["expected_version"], inputs["engagement_projection"]["version"])


def test_a_consistent_current_touch_index_is_accepted() -> None:
    events = (sent(1, 0), sent(2, 3))
    assert run_case(case(events, 6, current_touch_index=2))["decision"]["kind"] == "next_touch"
    assert run_case(case((), 0, current_touch_index=0))["decision"]["kind"] == "next_touch"


# --- idempotency ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "events",
    [(sent(1, 0),), (sent(1, 0), ev("replied", 1)), (sent(1, 0), sent(2, 3), sent(3, 6))],
    ids=["next", "stop", "complete"],
)
def test_a_replay_returns_the_earlier_outcome_and_appends_nothing(
    events: tuple[dict[str, Any], ...],
) -> None:
    first = run_case(case(events, 7))
    assert first["append_event"] is not None
    # Later, with the version moved on and even new engagement: the same key replays.
    after = (*appended(events, first), ev("unsubscribed", 8))
    replay = run_case(case(after, 20) | {"expected_version": len(events)})
    assert replay["decision"] == first["decision"] | {"replayed": True}
    assert replay["append_event"] is None
    assert replay["next_touch_packet"] == first["next_touch_packet"]


def test_the_sender_reusing_the_key_keeps_the_decision_replayable() -> None:
    first = run_case(case((sent(1, 0),), 3))
    events = (*appended((sent(1, 0),), first), ev("touch_sent", 3.1, 2, idempotency_key=KEY))
    replay = run_case(case(events, 4) | {"expected_version": 1})
    assert replay["decision"] == first["decision"] | {"replayed": True}
    assert replay["append_event"] is None


def test_times_in_other_zones_are_decided_and_answered_in_utc() -> None:
    plus2 = (T0 + timedelta(days=3, hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    result = run_case(case((sent(1, 0),), plus2))
    assert result["decision"]["kind"] == "next_touch"
    assert result["decision"]["decided_at"] == at(3)
