"""The compact form a person's sequences take in the sequencer's table (and its changelog).

A million active aggregates must fit in memory, so the stored value is a positional JSON array:
timestamps as epoch seconds, the aggregate id written once, idempotency keys relative to it, the
person's merge fields (a 13th item of the active aggregate) only when the card had any, and no
per-event `decision` (the shell derives each step's key from the projection, so it never
replays a key and never needs the earlier decision back). `decode(encode(s))` equals `s` with
the decisions dropped; a test holds it to that.

decode() builds the state without pydantic validation: the table holds only what encode() wrote
from validated states (the changelog is this table's own), and decoding once per decision was
much of the sequencer's cost. Timestamps come back in UTC, as validation would normalise them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from agents.sequencer.person import FinishedSequence, PersonState, SequenceAggregate
from agents.sequencer.projection import SequenceEventRecord, SequenceProjection, trusted
from streams.contracts.models.merge_fields import MergeFields

FORMAT = 1


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _rel(key: str | None, prefix: str) -> str | None:
    if key is not None and key.startswith(prefix):
        return "~" + key[len(prefix):]
    return key


def _abs(key: str | None, prefix: str) -> str | None:
    if key is not None and key.startswith("~"):
        return prefix + key[1:]
    return key


def _merge_fields(merge: list[Any]) -> MergeFields | None:
    if not merge:
        return None
    first, last, title, company = merge[0]
    return trusted(MergeFields, {"first_name": first, "last_name": last, "title": title,
                                 "company_name": company})


def encode(state: PersonState) -> str:
    active: list[Any] | None = None
    if state.active is not None:
        a = state.active
        events = [[e.type, e.touch_index, e.occurred_at.timestamp(),
                   _rel(e.idempotency_key, a.aggregate_id), e.bounce_kind, e.reason]
                  for e in a.projection.events]
        active = [a.aggregate_id, a.sequence_id, a.strategy, a.enrollment_id, a.campaign_id,
                  a.company_sov_id, a.correlation_id, a.to_email, a.timezone,
                  a.projection.version, events, _ts(a.next_due_at)]
        m = a.merge_fields
        if m is not None:  # only when the card had any: most memory is the aggregates'
            active.append([m.first_name, m.last_name, m.title, m.company_name])
    history = [[h.aggregate_id, h.status, h.reason, h.ended_at.timestamp()]
               for h in state.history]
    return orjson.dumps([FORMAT, state.version, active, history, list(state.enrollments),
                         _ts(state.last_contact_at), state.suppressed]).decode()


def decode(contact_key: str, raw: str) -> PersonState:
    fmt, version, active, history, enrollments, last_contact, suppressed = orjson.loads(raw)
    if fmt != FORMAT:
        raise ValueError(f"unknown sequencer state format {fmt!r}")
    aggregate = None
    if active is not None:
        (aggregate_id, sequence_id, strategy, enrollment_id, campaign_id, company, correlation,
         to_email, timezone, projection_version, events, next_due, *merge) = active
        records = tuple([
            trusted(SequenceEventRecord, {
                "type": t, "touch_index": i, "occurred_at": datetime.fromtimestamp(at, UTC),
                "idempotency_key": _abs(k, aggregate_id), "bounce_kind": b, "reason": r,
                "decision": None})
            for t, i, at, k, b, r in events])
        aggregate = trusted(SequenceAggregate, {
            "aggregate_id": aggregate_id, "sequence_id": sequence_id, "strategy": strategy,
            "enrollment_id": enrollment_id, "campaign_id": campaign_id, "company_sov_id": company,
            "correlation_id": correlation, "to_email": to_email, "timezone": timezone,
            "projection": SequenceProjection.trusted(aggregate_id, projection_version, records),
            "next_due_at": _dt(next_due), "merge_fields": _merge_fields(merge)})
    return trusted(PersonState, {
        "contact_key": contact_key, "version": version, "active": aggregate,
        "history": tuple(trusted(FinishedSequence, {
            "aggregate_id": h[0], "status": h[1], "reason": h[2],
            "ended_at": datetime.fromtimestamp(h[3], UTC)}) for h in history),
        "enrollments": tuple(enrollments), "last_contact_at": _dt(last_contact),
        "suppressed": suppressed})


def next_due_of(raw: str) -> float | None:
    """The stored person's next due time (epoch seconds), without building the state: the due
    index is rebuilt from every stored person after a rebalance."""
    fmt, _version, active, *_ = orjson.loads(raw)
    if fmt != FORMAT:
        raise ValueError(f"unknown sequencer state format {fmt!r}")
    return None if active is None else active[11]
