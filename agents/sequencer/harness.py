"""Run one seed-002 harness case (``inputs`` object, field names as in the seed) through the
person core the worker runs (`decide_person`).

The case becomes a person whose active sequence is the given projection, and a compare-and-set
command (`CheckDueTouches` with the aggregate, expected version, touch index and idempotency
key); the core's decision is rendered in the seed's shapes. The output is one JSON-able dict: a
runx receipt plus the decision's parts. Malformed input raises InvalidSequenceInput naming the
field; a well-formed request the sequencer refuses is a ``failure`` result with an escalation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from agents.sequencer.core import due_at, recorded_stop
from agents.sequencer.definition import Channel, SequenceDefinition, parse_definition
from agents.sequencer.exceptions import (
    InvalidSequenceDefinition,
    InvalidSequenceInput,
    describe_validation_error,
)
from agents.sequencer.person import (
    PersonDecision,
    PersonState,
    SequenceAggregate,
    SequencerContext,
    decide_person,
)
from agents.sequencer.person_state import approved_campaign
from agents.sequencer.projection import SequenceEventRecord, SequenceProjection, UtcDatetime
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.models.send import TouchRequested
from streams.contracts.models.sequence import CheckDueTouches, SequenceEventAppended

RECEIPT_SCHEMA = "runx.receipt.v1"
NEXT_TOUCH_PACKET = "runx.outreach.next_touch.v1"
# The case's definition under a strategy name of its own; the harness has no send window or
# daily cap (always open, never spent), and no campaign.
STRATEGY = "HARNESS"
ALWAYS_OPEN = SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7)))
KINDS = {"touch_requested": "next_touch", "sequence_stopped": "stop",
         "sequence_completed": "complete"}
# JSON "number" fields that must be whole: 7.0 or "7" would hide a caller bug, so be strict.
Count = Annotated[int, Strict(), Field(ge=0)]


class _Input(BaseModel):
    # Unknown fields are rejected so a misspelt field fails loudly instead of being ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContactRef(_Input):
    """Who the touch is for and under which principal; passed through, never widened."""

    principal: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    channel: Channel | None = None


class _OperationResult(BaseModel):
    # Provenance of the store operation (receipt_ref, ...): kept open, only ``status`` matters.
    model_config = ConfigDict(frozen=True, extra="allow")

    operation: str | None = None
    status: str = Field(min_length=1)


class _Event(_Input):
    type: str = Field(min_length=1)
    touch_index: Annotated[int, Strict(), Field(ge=1)] | None = None
    occurred_at: UtcDatetime
    idempotency_key: str | None = None
    bounce_kind: Literal["hard", "soft"] | None = None
    reason: str | None = None
    decision: dict[str, Any] | None = None
    # The append that wrote the event; being in the projection already means it was appended.
    operation_result: _OperationResult | None = None


class _Projection(_Input):
    aggregate_id: str = Field(min_length=1)
    store_id: str | None = None
    version: Count
    operation_result: _OperationResult
    events: tuple[_Event, ...] = ()


class HarnessInputs(_Input):
    sequence_definition: dict[str, Any]
    aggregate_id: str = Field(min_length=1)
    contact_ref: ContactRef
    current_touch_index: Count | None = None
    store_id: str = Field(min_length=1)
    idempotency_key: str = Field(min_length=1)
    expected_version: Count
    engagement_projection: _Projection
    now: UtcDatetime
    # Not in the seed: the last contact of this person by any sequence (cross-campaign cooling-off).
    last_contact_at: UtcDatetime | None = None


def parse_inputs(inputs: Any) -> HarnessInputs:
    if not isinstance(inputs, dict):
        raise InvalidSequenceInput(f"inputs: expected a mapping, got {type(inputs).__name__}")
    try:
        return HarnessInputs.model_validate(inputs)
    except ValidationError as exc:
        raise InvalidSequenceInput(describe_validation_error(exc)) from exc


def _projection(read: _Projection, store_id: str) -> SequenceProjection | None:
    if read.store_id is not None and read.store_id != store_id:
        raise InvalidSequenceInput(
            f"engagement_projection.store_id: {read.store_id!r} is not the pinned store_id "
            f"{store_id!r}"
        )
    status = read.operation_result.status
    if status == "missing":
        return None
    if status != "ok":
        raise InvalidSequenceInput(
            f"engagement_projection.operation_result.status: expected 'ok' or 'missing', "
            f"got {status!r}"
        )
    events = tuple(
        SequenceEventRecord(**e.model_dump(exclude={"operation_result"})) for e in read.events
    )
    return SequenceProjection(aggregate_id=read.aggregate_id, version=read.version, events=events)


def run_case(inputs: dict[str, Any]) -> dict[str, Any]:
    """Decide one case; raises InvalidSequenceInput when ``inputs`` is malformed."""
    req = parse_inputs(inputs)
    try:
        definition = parse_definition(req.sequence_definition)
    except InvalidSequenceDefinition as exc:
        raise InvalidSequenceInput(str(exc)) from exc
    projection = _projection(req.engagement_projection, req.store_id)
    contact_key = req.aggregate_id.rsplit(":", 1)[-1]
    active = None
    if projection is not None:
        active = SequenceAggregate(
            aggregate_id=projection.aggregate_id,
            sequence_id=projection.aggregate_id.rsplit(":", 1)[0], strategy=STRATEGY,
            enrollment_id=req.idempotency_key, campaign_id=None, company_sov_id=None,
            correlation_id=f"aggregate:{projection.aggregate_id}",
            to_email=req.contact_ref.audience, timezone=None, projection=projection,
            next_due_at=None)
    state = PersonState(contact_key=contact_key, active=active,
                        last_contact_at=req.last_contact_at)
    ctx = SequencerContext(definitions={STRATEGY: definition}, window=ALWAYS_OPEN,
                           caps=DailyCaps(), ids=STABLE_IDS, campaign_status=approved_campaign)
    command = CheckDueTouches(
        contact_key=contact_key, issued_at=req.now, aggregate_id=req.aggregate_id,
        expected_version=req.expected_version, current_touch_index=req.current_touch_index,
        idempotency_key=req.idempotency_key)
    return render(req, definition, projection, decide_person(state, command, req.now, ctx))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render(req: HarnessInputs, definition: SequenceDefinition,
           projection: SequenceProjection | None, decision: PersonDecision) -> dict[str, Any]:
    """The person core's decision in the seed's shapes."""
    events = [e.event for e in decision.emits]
    error = next((e for e in events if isinstance(e, OutreachErrorRaised)), None)
    request = next((e for e in events if isinstance(e, TouchRequested)), None)
    appended = next((e for e in events if isinstance(e, SequenceEventAppended)), None)
    last = projection.last_touch_index if projection is not None else 0
    earlier = projection.applied_keys.get(req.idempotency_key) if projection else None
    outcome: dict[str, Any] = {
        "kind": "wait", "aggregate_id": req.aggregate_id, "idempotency_key": req.idempotency_key,
        "decided_at": _iso(req.now), "last_touch_index": last, "next_touch": None,
        "wait_until": None, "wait_reason": None, "stop_state": None, "escalation": None}
    replayed = error is None and earlier is not None and earlier.decision is not None
    if replayed:
        assert earlier is not None and earlier.decision is not None
        outcome = dict(earlier.decision)  # the outcome recorded with the append, verbatim
    elif error is not None:
        record = error.record if isinstance(error.record, dict) else {}
        outcome["kind"] = "failure"
        outcome["escalation"] = {
            "reason": record.get("failure", "idempotency_key_conflict"), "needs": "agent",
            "message": error.reason, "aggregate_id": req.aggregate_id,
            "expected_version": record.get("expected_version"),
            "actual_version": record.get("actual_version")}
    elif appended is not None:
        outcome["kind"] = KINDS[appended.type]
    elif decision.state.active is None:  # its end was already recorded: nothing appended
        ended = decision.state.history[-1].status if decision.state.history else "stopped"
        outcome["kind"] = "complete" if ended == "completed" else "stop"
    else:
        outcome["wait_until"] = _iso(decision.state.next_due_at)
        when, why = due_at(definition.rules, projection.last_touch_at if projection else None,
                           req.last_contact_at)
        if when is not None and decision.state.next_due_at == when:
            outcome["wait_reason"] = why
    if request is not None:
        outcome["next_touch"] = {
            "packet": NEXT_TOUCH_PACKET, "aggregate_id": request.aggregate_id,
            # The seed's touch shape: the template reference is the loader's, not the seed's.
            "touch": definition.touch(request.touch_index).model_dump(
                mode="json", exclude={"template"}),
            "contact_ref": req.contact_ref.model_dump(mode="json"),
            "idempotency_key": request.idempotency_key, "due_at": _iso(request.due_at)}
    if outcome["kind"] == "stop" and not replayed and projection is not None:
        outcome["stop_state"] = _stop_state(projection)
    failed = outcome["kind"] == "failure"
    escalation = outcome.get("escalation")
    receipt = {
        "schema": RECEIPT_SCHEMA,
        "state": "failure" if failed else "sealed",
        "disposition": "escalated" if failed else "closed",
        "reason_code": escalation["reason"] if escalation else "process_closed",
    }
    append = None
    if appended is not None:
        append = {
            "store_id": req.store_id, "aggregate_id": appended.aggregate_id,
            "type": appended.type, "expected_version": appended.version - 1,
            "version": appended.version, "idempotency_key": appended.idempotency_key,
            "occurred_at": _iso(appended.occurred_at), "touch_index": appended.touch_index,
            "reason": appended.detail.get("reason"), "decision": outcome}
    summary = {k: v for k, v in outcome.items()
               if k not in ("next_touch", "stop_state", "escalation")} | {"replayed": replayed}
    return {
        "status": "failure" if failed else "sealed",
        "receipt": receipt,
        "decision": summary,
        "append_event": append,
        "next_touch_packet": outcome.get("next_touch"),
        "escalation": escalation,
        "stop_state": outcome.get("stop_state"),
    }


def _stop_state(projection: SequenceProjection) -> dict[str, Any]:
    """Why the sequence stopped: the event that stopped it, or the stop already recorded."""
    fold = projection.fold
    if fold.stop_recorded is not None:
        return recorded_stop(fold.stop_recorded, fold.last_touch_index).model_dump(mode="json")
    assert fold.stopped_by is not None
    return {"reason": fold.stopped_by.type, "stopped_at": _iso(fold.stopped_by.occurred_at),
            "last_touch_index": fold.last_touch_index}
