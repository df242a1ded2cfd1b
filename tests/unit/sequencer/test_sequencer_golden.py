"""Golden histories: the person fold decides today exactly as it decided at commit 208e8a7.

208e8a7 is the sequencer before its performance rewrite (trusted models, the incremental
projection fold, next_step() instead of a full decide() per step). This module pins the pure
per-person core, ``decide_person`` (and the table's ``encode``), to that behaviour.

A deterministic generator (``history``: random.Random(seed), a fixed start time) drives 150
people through 4 to 15 steps each (20 for a few): enrollments (new, redelivered, declined while a
sequence runs, refused after a suppression, past the 8 kept), due checks as the scheduler fires
them and at other times, send reports (sent, failed, scheduled, duplicated), engagement (opens,
clicks, replies, unsubscribes, complaints, meetings, hard/soft bounces; on the active sequence,
an ended one or an unknown one; redelivered webhooks), campaigns paused, held or ended, daily
caps spent on the mailbox or the domain (partitioned), send windows closed at some hours and
checks right where they open and close, `now` in UTC and other zones, contacts in several (and
an unknown) time zone, both strategies, an escalation (the next step's key taken by another
writer), a naive `now`, and round trips through encode/decode between steps as the worker makes
them. For every step the emits (topic, key, event type, ``model_dump(mode="json")``), the
effects, the stored state (``encode``, which drops the in-memory per-event ``decision`` dicts the
two versions record differently) and the next due time (isoformat, zone included) must equal
what 208e8a7 recorded in ``golden_person_histories.json``; so must an input it refused (the
exception type).

To keep the file small (and each history on one line, for reviewable diffs), strings longer than
24 characters other than timestamps (event, process and aggregate ids, idempotency keys,
digests, subjects) are kept as a 6-hex sha256 prefix; the step's own `now` is written "@now";
emits are value lists under a per-event-type field list (which also pins the field order on the
wire); effects are indexes into one list; and an event, a stored state or a due time is written
as its change to the previous one in the history ("=" unchanged, {"~": {position: change}},
{"+": [appended]}, {"-": n dropped from the front, "+": [...]}; a step leaves out what did not
change). The test compacts what the current code does in the same way and compares step by step;
a failure names the history, the step and its input, and the first differing field.

Two intended changes since were recorded by regenerating the file, each checked to change
nothing else: the touches' digests, now computed from their template files (each old digest
maps to one new one over the whole file), and TouchRequested's `merge_fields` field (one more
field name, and a null at the end of each TouchRequested written in full: the generator's
enrollments carry no names).

Regenerate the golden file only for an intended behaviour change, and review its diff:

    .venv/bin/python tests/unit/sequencer/test_sequencer_golden.py

records what the code it imports decides (it prints where that code is). To record the
behaviour of another commit, e.g. 208e8a7 itself, put a worktree of it first on the path:

    git worktree add ../golden-old 208e8a7      # from the repository root
    .venv/bin/python tests/unit/sequencer/test_sequencer_golden.py --code-root ../golden-old
    git worktree remove --force ../golden-old
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import random
import sys
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

if __name__ == "__main__" and "--code-root" in sys.argv:  # record another checkout's behaviour
    sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--code-root") + 1]).resolve()))

from agents.sequencer.definition import load_definitions
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.projection import SequenceEventRecord
from agents.sequencer.storage import decode, encode
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.decision import Count
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CheckDueTouches,
    EngagementRecorded,
    EnrollContact,
    SendRecorded,
)

GOLDEN = Path(__file__).with_name("golden_person_histories.json")
RECORDED_FROM = "208e8a7"
SEEDS = range(150)
MAX_STEPS = 15
LONG = 24  # strings longer than this (but timestamps) are stored as a hash

# A Thursday three days before Europe's switch to summer time, so histories cross it.
T0 = datetime(2026, 3, 26, 6, 45, tzinfo=UTC)
STRATEGIES = ("PERSONALIZED_EMAIL", "PHONE_AND_EMAIL")
NOW_ZONES: tuple[tzinfo, ...] = (
    UTC, UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-7)),
    timezone(timedelta(hours=5, minutes=30)), ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"))
CONTACT_ZONES = (None, "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata",
                 "Australia/Sydney", "Not/AZone")
ALWAYS_OPEN = SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7)))
WINDOWS = (
    ALWAYS_OPEN, ALWAYS_OPEN, ALWAYS_OPEN,
    SendWindow(),  # 9-17 on weekdays, UTC by default
    SendWindow(start_hour=8, end_hour=18, weekdays=(0, 1, 2, 3, 4, 5),
               default_timezone="Europe/Berlin"),
    SendWindow(start_hour=13, end_hour=15, weekdays=(1, 3)),
)
HELD = ("paused", "paused", "draft", "scheduled", "requested")
ENDED = ("cancelled", "cancelled", "completed", "expired", "rejected", "failed")
# Weighted towards engagement that does not end a sequence, so histories get somewhere.
ENGAGEMENT = ("opened", "opened", "clicked", "clicked", "delivered", "auto_replied", "replied",
              "replied", "unsubscribed", "complained", "meeting_booked", "bounced", "bounced",
              "bounced")
DOMAINS = ("Acme.example", "beta.example", "gamma.test")
DEFINITIONS = load_definitions()

STATE_NAMES = ("format", "version", "active", "history", "enrollments", "last_contact_at",
               "suppressed")
ACTIVE_NAMES = ("aggregate_id", "sequence_id", "strategy", "enrollment_id", "campaign_id",
                "company_sov_id", "correlation_id", "to_email", "timezone",
                "projection_version", "events", "next_due_at")
EVENT_NAMES = ("type", "touch_index", "occurred_at", "idempotency_key", "bounce_kind", "reason")
HISTORY_NAMES = ("aggregate_id", "status", "reason", "ended_at")


# --- the generator --------------------------------------------------------------------------


def _share(cap: int, partitions: int, partition: int) -> int:
    return cap // partitions + (1 if partition % partitions < cap % partitions else 0)


def _compact(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > LONG and not (value[:2] == "20" and value[10:11] == "T"):
            return "#" + hashlib.sha256(value.encode()).hexdigest()[:6]
        return value
    if isinstance(value, list | tuple):
        return [_compact(v) for v in value]
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items()}
    return value


def _at_now(value: Any, now: datetime) -> Any:
    """``value`` with the step's `now` (its isoformat, or its epoch seconds) written "@now"."""
    if now.tzinfo is None:
        return value
    if isinstance(value, str):
        return "@now" if value == now.isoformat() else value
    if type(value) is float:
        return "@now" if value == now.timestamp() else value
    if isinstance(value, list):
        return [_at_now(v, now) for v in value]
    if isinstance(value, dict):
        return {k: _at_now(v, now) for k, v in value.items()}
    return value


def _delta(current: Any, previous: Any) -> Any:
    """``current`` as a change to ``previous``: "=" when equal; for lists the shortest of
    {"+": [items appended]}, {"-": n, "+": [...]} (n items dropped from the front, as bounded
    lists do), {"~": {index: change}} (same length) and the list itself; else ``current``."""
    if current == previous and type(current) is type(previous):
        return "="
    if not (isinstance(current, list) and isinstance(previous, list)):
        return current
    candidates: list[Any] = []
    for drop in range(len(previous) + 1):
        kept = len(previous) - drop
        if len(current) >= kept and current[:kept] == previous[drop:]:
            candidates.append({"+": current[kept:]} if drop == 0 else
                              {"-": drop, "+": current[kept:]})
            break
    if len(current) == len(previous):
        candidates.append({"~": {str(i): _delta(c, p) for i, (c, p) in
                                 enumerate(zip(current, previous, strict=True)) if c != p}})
    candidates.append(current)
    return min(candidates, key=lambda c: len(json.dumps(c)))


def _effect(effect: object) -> str:
    """``Count sequencer_touches_requested_total channel=email`` (an amount of 1.0 left out),
    ``ConsumeCap 2026-03-26 sales-dev acme.example``."""
    parts = [type(effect).__name__]
    for value in dataclasses.astuple(effect):  # type: ignore[call-overload]
        if isinstance(effect, Count) and value == 1.0:
            continue
        if isinstance(value, tuple):
            parts.append(",".join(f"{k}={v}" for k, v in value))
        else:
            parts.append(str(value))
    return " ".join(parts)


def _constant(value: str | None, _campaign_id: str | None) -> str | None:
    return value


def _spent(mailbox: int, domain: int, key: str) -> int:
    """Today's spending by cap key: the mailbox's on every mailbox counter, the domain's on
    every domain counter (agents/sequencer/caps.py `cap_keys`)."""
    return mailbox if "|m|" in key else domain


def history(seed: int, fields: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Drive one person through a generated history; each step's record (see the docstring).

    Every step draws the same number of random values whatever the state, so a behaviour
    difference shows at the step where it happens and does not reshuffle the rest.
    """
    rng = random.Random(1_000 + seed)
    key = f"p{seed:03d}"
    strategy = rng.choice(STRATEGIES)
    now_zone = rng.choice(NOW_ZONES)
    contact_zone = rng.choice(CONTACT_ZONES)
    window = rng.choice(WINDOWS)
    email = f"person{seed}@{rng.choice(DOMAINS)}"
    campaign = rng.choice((None, f"camp-{seed % 7}", f"camp-{seed % 5}"))
    company = rng.choice((None, f"cmp-{seed % 11}"))
    campaigns = rng.choice(("quiet", "quiet", "active", "flaky", "flaky"))
    # Some people are checked as the scheduler does, when due, so their sequences run to the
    # end; a few are enrolled over and over (declined while a sequence runs, ended at once by an
    # ended campaign), past the bounded enrollments and history the state keeps.
    profile = rng.random()
    scheduled, crowded = profile < 0.25, profile >= 0.94
    per_mailbox, per_domain = rng.choice(((400, 40), (400, 40), (3, 2), (25, 7)))
    partitions = rng.choice((1, 1, 3, 4))
    partition = rng.randrange(partitions)
    recheck = rng.choice((3600.0, 900.0))
    through_table = rng.choice(("never", "always", "sometimes"))
    steps = MAX_STEPS + 5 if crowded else rng.randint(4, MAX_STEPS)
    caps = DailyCaps(per_mailbox=per_mailbox, per_domain=per_domain)
    try:  # the zone the send window is read in
        local_zone = ZoneInfo(contact_zone or window.default_timezone)
    except ZoneInfoNotFoundError:
        local_zone = ZoneInfo(window.default_timezone)
    mailbox_share = _share(per_mailbox, partitions, partition)
    domain_share = _share(per_domain, partitions, partition)

    state = PersonState(contact_key=key)
    clock = T0 + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
    enrollments: list[str] = []
    provider_ids: list[str] = []
    sends: list[SendRecorded] = []
    records: list[dict[str, Any]] = []
    stored: Any = None  # the previous step's stored state (compacted)
    last_emit: dict[str, Any] = {}  # the previous emitted event of each type (compacted)
    last_due: str | None = None
    for n in range(steps):
        u = [rng.random() for _ in range(12)]
        before = clock
        # How far the clock moves: minutes, hours or days.
        if u[1] < 0.45:
            clock += timedelta(minutes=1 + int(u[2] * 90))
        elif u[1] < 0.8:
            clock += timedelta(hours=1 + int(u[2] * 30), minutes=int(u[3] * 60))
        else:
            clock += timedelta(days=1 + int(u[2] * 4), hours=int(u[3] * 24))
        if u[10] < 0.2:  # on the hour (the person's), often where the send window opens or closes
            hour = (window.start_hour, window.end_hour % 24, clock.hour)[int(u[11] * 3)]
            local = clock.astimezone(local_zone).replace(hour=hour, minute=0, second=0)
            clock = (local if local >= before else local + timedelta(days=1)).astimezone(UTC)
        zone = now_zone if u[4] >= 0.15 else NOW_ZONES[int(u[5] * len(NOW_ZONES))]

        if crowded:
            status = "active" if u[6] < 0.15 else ENDED[int(u[7] * len(ENDED))]
        elif campaigns == "quiet":
            status = None
        elif campaigns == "active" or u[6] >= 0.3:
            status = "active"
        elif u[6] < 0.06:
            status = ENDED[int(u[7] * len(ENDED))]
        else:
            status = HELD[int(u[7] * len(HELD))]
        mailbox = domain = 0
        if u[8] < 0.15:
            mailbox = (mailbox_share - 1, mailbox_share, mailbox_share + 2)[int(u[9] * 3)]
        elif u[8] < 0.3:
            domain = (domain_share - 1, domain_share, domain_share + 2)[int(u[9] * 3)]
        mailbox_sent, domain_sent = max(mailbox, 0), max(domain, 0)
        ctx = SequencerContext(
            definitions=DEFINITIONS, window=window, caps=caps, ids=STABLE_IDS,
            # A campaign the view has not heard of holds now (no step can be skipped); the
            # histories recorded one as sendable, so it is an active campaign here: the same
            # histories, byte for byte, prove an active campaign behaves as before.
            campaign_status=functools.partial(_constant, status or "active"),
            caps_spent=functools.partial(_spent, mailbox_sent, domain_sent),
            partitions=partitions, partition=partition, recheck_seconds=recheck)

        active = state.active
        aggregate = active.aggregate_id if active else "gone"
        # Checks, an escalation, send reports, engagement, enrollments, a naive `now`; a history
        # starts with an enrollment (mostly).
        op = u[0] if n or u[0] < 0.08 else 0.8 + u[0] * 0.15
        if active is None and state.suppressed is None and 0.2 <= op < 0.46:
            op = 0.9  # nothing to check: enroll again (mostly)
        if scheduled and n and active is not None:  # due checks, send reports, engagement
            op = 0.1 if u[0] < 0.7 else 0.5 + (u[0] - 0.7)
        if crowded and n:  # enrollments and checks; at last the first enrollment once more
            op = 0.9 if u[0] < 0.8 or n == steps - 1 else 0.1
        item: Any
        if op < 0.48:
            if op >= 0.46:  # some other writer took the next step's key: an escalation
                if active is not None:
                    step_key = f"{aggregate}:step{active.projection.last_touch_index + 1}"
                    taken = active.projection.appended(SequenceEventRecord(
                        type="opened", occurred_at=clock, idempotency_key=step_key))
                    state = state.model_copy(update={"active": active.model_copy(
                        update={"projection": taken})})
                name = "check:planted"
            elif (u[3] < 0.65 or scheduled) and state.next_due_at is not None:
                # when it is due, as the scheduler fires it (or a little later)
                clock = max(before, state.next_due_at + timedelta(
                    seconds=(0, 0, 1, 420, 10_800)[int(u[2] * 5)]))
                name = "check:due"
            else:
                name = "check"
            item = CheckDueTouches(contact_key=key, issued_at=clock)
        elif op < 0.60:
            last = active.projection.last_touch_index if active else 1
            result = ("sent", "sent", "sent", "sent", "sent", "sent", "sent", "sent", "failed",
                      "scheduled")[int(u[2] * 10)]
            if sends and u[3] < 0.15:
                item, name = sends[-1], "sent:duplicate"
            else:
                item = SendRecorded(
                    event_id=f"s-{seed}-{n}", occurred_at=clock - timedelta(seconds=30),
                    correlation_id=f"corr-{seed}",
                    process_id="outreach-execution-send-20260326-0a1b2c3d",
                    aggregate_id=aggregate, contact_key=key, touch_index=max(last, 1),
                    idempotency_key=f"{aggregate}:step{max(last, 1)}", status=result,
                    provider="sendgrid", provider_message_id=f"m-{seed}-{n}")
                name = f"sent:{result}"
                sends.append(item)
        elif op < 0.80:
            kind = ENGAGEMENT[int(u[2] * len(ENGAGEMENT))]
            bounce = None
            if kind == "bounced":
                bounce = ("hard", "hard", "soft", "soft", None)[int(u[9] * 5)]
            if u[3] < 0.8:
                target = aggregate
            elif u[3] < 0.92:
                target = state.history[-1].aggregate_id if state.history else "gone"
            else:
                target = "unknown-aggregate"
            if provider_ids and u[5] < 0.15:
                provider_id = provider_ids[-1]  # a redelivered webhook
            else:
                provider_id = f"pe-{seed}-{n}"
                provider_ids.append(provider_id)
            item = EngagementRecorded(
                event_id=f"ev-{seed}-{n}", occurred_at=clock - timedelta(minutes=int(u[7] * 50)),
                correlation_id=f"corr-{seed}",
                process_id="outreach-execution-engage-20260326-0a1b2c3d",
                aggregate_id=target, contact_key=key, campaign_id=campaign,
                provider="sendgrid", provider_event_id=provider_id, type=kind, bounce_kind=bounce)
            name = f"engagement:{kind}" + (f":{bounce}" if kind == "bounced" else "")
        elif op < 0.97:
            if crowded and n == steps - 1:  # forgotten: more than the kept ones came since
                enrollment, name = enrollments[0], "enroll:redelivered"
            elif enrollments and u[3] < 0.25 and not crowded:
                enrollment = enrollments[int(u[5] * len(enrollments))]
                name = "enroll:redelivered"
            else:
                enrollment, name = f"en-{seed}-{n}", "enroll"
                enrollments.append(enrollment)
            item = EnrollContact(
                enrollment_id=enrollment, contact_key=key, lead_id=f"lead-{seed}",
                company_sov_id=company, campaign_id=campaign,
                strategy=strategy if u[7] < 0.85 else STRATEGIES[int(u[9] * 2)],
                tier=("HOT", "BURNING")[int(u[9] * 2)], to_email=email,
                timezone=contact_zone, correlation_id=f"corr-{seed}", requested_at=clock)
        else:  # a naive `now`: refused, as it always was (where the fold reads it)
            item = (EnrollContact(
                enrollment_id=f"en-{seed}-{n}", contact_key=key, lead_id=f"lead-{seed}",
                strategy=strategy, to_email=email, correlation_id=f"corr-{seed}",
                requested_at=clock) if active is None
                else CheckDueTouches(contact_key=key, issued_at=clock))
            name = "naive"

        now = clock.replace(tzinfo=None) if name == "naive" else clock.astimezone(zone)
        described = f"{name} at {now.isoformat()}"
        if status not in (None, "active") or mailbox or domain:
            described += (f" (campaign {status}, sent today {mailbox_sent} by the "
                          f"mailbox, {domain_sent} to the domain)")
        record: dict[str, Any] = {"input": described, "_op": name, "_campaign": status}
        try:
            decision = decide_person(state, item, now, ctx)
        except Exception as exc:  # recorded: refusing the input is behaviour too
            record["error"], record["_detail"] = type(exc).__name__, repr(exc)[:500]
            records.append(record)
            continue
        emits = []
        for emit in decision.emits:
            dump = emit.event.model_dump(mode="json")
            kind = type(emit.event).__name__
            if fields.setdefault(kind, list(dump)) != list(dump):
                raise AssertionError(f"{kind}: fields {list(dump)}, before {fields[kind]}")
            record.setdefault("_events", []).append((kind, dump))  # for the coverage check
            values = _compact(list(dump.values()))
            # (as a change to the history's previous event of its type, if there was one)
            emits.append([emit.topic, emit.key, kind,
                          _at_now(_delta(values, last_emit.get(kind)), now)])
            last_emit[kind] = values
        if emits:
            record["emits"] = emits
        if decision.effects:
            record["effects"] = [_effect(e) for e in decision.effects]
        state = decision.state
        full = _compact(json.loads(encode(state)))
        if full != stored:
            record["state"] = _at_now(_delta(full, stored), now)
        stored = full
        due = None if state.next_due_at is None else state.next_due_at.isoformat()
        if due != last_due:
            record["due"] = _at_now(due, now)
            last_due = due
        records.append(record)
        if through_table == "always" or (through_table == "sometimes" and u[6] < 0.5):
            state = decode(key, encode(state))  # as the worker does between inputs
    return records


def golden_history(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A history as the golden file holds it: each step's behaviour, and a digest of the inputs
    (the generator's own; compared last, as the inputs follow the behaviour before them)."""
    inputs = "\n".join(r["input"] for r in records)
    return {"inputs": hashlib.sha256(inputs.encode()).hexdigest()[:12],
            "steps": [{k: v for k, v in r.items() if k[0].isalpha() and k != "input"}
                      for r in records]}


def generate() -> dict[str, Any]:
    fields: dict[str, list[str]] = {}
    histories = {f"h{seed:03d}": golden_history(history(seed, fields)) for seed in SEEDS}
    # Effects repeat: the file lists each once and the steps refer to it by its index.
    effects = sorted({e for h in histories.values() for s in h["steps"]
                      for e in s.get("effects", [])})
    index = {e: i for i, e in enumerate(effects)}
    for h in histories.values():
        for step in h["steps"]:
            if "effects" in step:
                step["effects"] = [index[e] for e in step["effects"]]
    return {"recorded_from": RECORDED_FROM, "fields": fields, "effects": effects,
            "histories": histories}


def write(golden: dict[str, Any], path: Path = GOLDEN) -> None:
    """One history a line, keys sorted: reviewable diffs when the file is regenerated."""
    def dumps(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    head = {k: v for k, v in golden.items() if k != "histories"}
    lines = [f"{dumps(k)}:{dumps(v)}" for k, v in sorted(head.items())]
    lines.append('"histories":{\n' + ",\n".join(
        f"{dumps(k)}:{dumps(v)}" for k, v in sorted(golden["histories"].items())) + "\n}")
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")


# --- the comparison -------------------------------------------------------------------------


# How to name the parts of a stored state: its fields, and the items of its lists.
Schema = tuple[tuple[str, ...], dict[str, "Schema"], bool]  # (names, children, a list of items)
EVENTS: Schema = (EVENT_NAMES, {}, True)
ACTIVE: Schema = (ACTIVE_NAMES, {"events": EVENTS}, False)
STATE: Schema = (STATE_NAMES, {"active": ACTIVE, "history": (HISTORY_NAMES, {}, True)}, False)


def _named(value: Any, schema: Schema) -> Any:
    """``value`` (a full positional list, or a _delta of one) with its positions named."""
    names, children, items = schema
    if items:  # a list of records, each named by names
        record: Schema = (names, children, False)
        if isinstance(value, list):
            return [_named(v, record) for v in value]
        if isinstance(value, dict) and isinstance(value.get("+"), list):
            return {**value, "+": [_named(v, record) for v in value["+"]]}
        if isinstance(value, dict) and isinstance(value.get("~"), dict):
            return {"~": {i: _named(v, record) for i, v in value["~"].items()}}
        return value
    if isinstance(value, list) and len(value) == len(names):
        return {n: _named(v, children[n]) if n in children else v
                for n, v in zip(names, value, strict=True)}
    if isinstance(value, dict) and isinstance(value.get("~"), dict) and all(
            i.isdigit() and int(i) < len(names) for i in value["~"]):
        changed = {names[int(i)]: v for i, v in value["~"].items()}
        return {"~": {n: _named(v, children[n]) if n in children else v
                      for n, v in changed.items()}}
    return value  # "=", or another shape: compared as it is


def _readable(step: dict[str, Any], fields: dict[str, list[str]],
              effects: list[str] | None = None) -> dict[str, Any]:
    """A step with its defaults filled in, its effects looked up in the golden file's list, and
    its positional parts named, so that a difference names its field. ("=" stands for the
    previous step's value; see _delta.)"""
    out = {"error": None, "emits": [], "effects": [], "state": "=", "due": "=", **step}
    if effects is not None:
        out["effects"] = [effects[i] if isinstance(i, int) and 0 <= i < len(effects) else i
                          for i in out["effects"]]
    out["emits"] = [
        {"topic": e[0], "key": e[1], "type": e[2],
         "event": _named(e[3], (tuple(fields.get(e[2], ())), {}, False))}
        if isinstance(e, list) and len(e) == 4 else e for e in out["emits"]]
    out["state"] = _named(out["state"], STATE)
    return out


def first_difference(expected: Any, actual: Any, path: str = "") -> tuple[str, Any, Any] | None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in [*expected, *(k for k in actual if k not in expected)]:
            if k not in expected or k not in actual:
                return f"{path}.{k}", expected.get(k, "<missing>"), actual.get(k, "<missing>")
            found = first_difference(expected[k], actual[k], f"{path}.{k}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(e, a, f"{path}[{i}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path} (length)", len(expected), len(actual)
        return None
    if expected != actual or type(expected) is not type(actual):
        return path, expected, actual
    return None


@functools.cache
def _current(seed: int) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    fields: dict[str, list[str]] = {}
    return fields, history(seed, fields)


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(GOLDEN.read_text())
    return loaded


def test_the_golden_file_holds_every_history(golden: dict[str, Any]) -> None:
    assert golden["recorded_from"] == RECORDED_FROM
    assert sorted(golden["histories"]) == [f"h{seed:03d}" for seed in SEEDS]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"h{s:03d}")
def test_the_person_fold_decides_as_at_208e8a7(seed: int, golden: dict[str, Any]) -> None:
    fields, records = _current(seed)
    current = golden_history(records)
    expected = golden["histories"][f"h{seed:03d}"]
    name = f"history h{seed:03d} (seed {seed})"
    for kind in fields:
        assert fields[kind] == golden["fields"].get(kind), (
            f"{name}: the fields of {kind} (and so their order on the wire) changed: "
            f"golden {golden['fields'].get(kind)}, current {fields[kind]}")
    for n, (want, got) in enumerate(zip(expected["steps"], current["steps"], strict=False)):
        found = first_difference(_readable(want, golden["fields"], golden["effects"]),
                                 _readable(got, fields))
        if found:
            path, was, now = found
            detail = records[n].get("_detail")
            pytest.fail(f"{name}, step {n}, {records[n]['input']}: first difference at "
                        f"{path.lstrip('.')}: golden {was!r}, current {now!r}"
                        + (f" ({detail})" if detail else ""))
    assert len(current["steps"]) == len(expected["steps"]), f"{name}: the number of steps"
    assert current["inputs"] == expected["inputs"], (
        f"{name}: the generator's inputs changed (the same behaviour for other inputs); "
        "regenerate the golden file from 208e8a7 if the generator changed on purpose")


def test_the_histories_cover_the_cases() -> None:
    """Guards the generator: the histories must keep exercising what they claim to."""
    records = [r for seed in SEEDS for r in _current(seed)[1]]
    ops = {r["_op"].split(":")[0] + ":" + r["_op"].split(":")[-1] for r in records}
    emitted: set[tuple[str, ...]] = set()
    zones: set[str] = set()
    for kind, event in (e for r in records for e in r.get("_events", [])):
        zones.add(event["occurred_at"][19:])
        if kind == "TouchRequested":
            emitted.add((kind, event["channel"]))
        elif kind == "SequenceEventAppended":
            emitted.add((kind, event["status"], str(event["detail"].get("reason"))))
        else:
            emitted.add((kind,))
    effects = {" ".join(e.split()[:3]) for r in records for e in r.get("effects", [])}
    assert {("TouchRequested", "email"), ("TouchRequested", "phone_task"),
            ("SequenceEventAppended", "active", "None"),
            ("SequenceEventAppended", "completed", "None"),
            ("SequenceEventAppended", "stopped", "replied"),
            ("SequenceEventAppended", "stopped", "unsubscribed"),
            ("SequenceEventAppended", "stopped", "bounced"),
            ("SequenceEventAppended", "stopped", "meeting_booked"),
            ("SequenceEventAppended", "stopped", "campaign_cancelled"),
            ("OutreachErrorRaised",)} <= emitted
    assert {"Count sequencer_enrollments_total outcome=enrolled",
            "Count sequencer_enrollments_total outcome=declined",
            "Count sequencer_enrollments_total outcome=suppressed",
            "Count sequencer_touches_deferred_total reason=daily_cap",
            "Count sequencer_touches_requested_total channel=phone_task"} <= effects
    assert any(e.startswith("ConsumeCap") for e in effects)
    assert {"check:planted", "check:due", "sent:duplicate", "sent:failed",
            "enroll:redelivered", "engagement:hard", "engagement:soft", "naive:naive"} <= ops
    assert any(r["_campaign"] == "paused" and r.get("due") for r in records)
    # Past the bounded history (10) and enrollments (8) a state keeps:
    histories = [_current(seed)[1] for seed in SEEDS]
    assert any(sum("sequences_ended" in e for r in h for e in r.get("effects", [])) > 10
               for h in histories)
    assert any(sum(r["_op"] == "enroll" for r in h) > 8 and any(
        r["_op"] == "enroll:redelivered" and r.get("effects") for r in h) for h in histories)
    assert {"InvalidSequenceInput", "ValidationError"} <= {r.get("error") for r in records}
    assert len(zones - {"Z", "+00:00"}) >= 3  # `now` in other zones than UTC


if __name__ == "__main__":
    import agents

    print(f"recording the behaviour of {Path(agents.__file__).parent.parent}", file=sys.stderr)
    recorded = generate()
    write(recorded)
    steps = [s for h in recorded["histories"].values() for s in h["steps"]]
    print(f"{len(recorded['histories'])} histories, {len(steps)} steps, "
          f"{sum(len(s.get('emits', [])) for s in steps)} emits, "
          f"{GOLDEN.stat().st_size} bytes -> {GOLDEN}", file=sys.stderr)
