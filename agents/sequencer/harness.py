"""Run one seed-002 harness case (``inputs`` object, field names as in the seed) through decide().

The output is one JSON-able dict: a runx receipt plus the decision's parts. Malformed input raises
InvalidSequenceInput naming the field; a well-formed request the sequencer cannot act on is a
``failure`` result with an escalation, not an exception.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from agents.sequencer.core import ContactRef, SequencerDecision, decide
from agents.sequencer.definition import parse_definition
from agents.sequencer.exceptions import (
    InvalidSequenceDefinition,
    InvalidSequenceInput,
    describe_validation_error,
)
from agents.sequencer.projection import SequenceEventRecord, SequenceProjection, UtcDatetime

RECEIPT_SCHEMA = "runx.receipt.v1"
# JSON "number" fields that must be whole: 7.0 or "7" would hide a caller bug, so be strict.
Count = Annotated[int, Strict(), Field(ge=0)]


class _Input(BaseModel):
    # Unknown fields are rejected so a misspelt field fails loudly instead of being ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


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
    decision = decide(
        definition,
        _projection(req.engagement_projection, req.store_id),
        req.contact_ref,
        req.idempotency_key,
        req.expected_version,
        req.now,
        current_touch_index=req.current_touch_index,
        last_contact_at=req.last_contact_at,
        aggregate_id=req.aggregate_id,
    )
    return render(decision, req.store_id)


def render(decision: SequencerDecision, store_id: str) -> dict[str, Any]:
    out = decision.outcome
    failed = out.kind == "failure"
    receipt = {
        "schema": RECEIPT_SCHEMA,
        "state": "failure" if failed else "sealed",
        "disposition": "escalated" if failed else "closed",
        "reason_code": out.escalation.reason if out.escalation else "process_closed",
    }
    summary = out.model_dump(mode="json", exclude={"next_touch", "stop_state", "escalation"}) | {
        "replayed": decision.replayed
    }
    append = None
    if decision.append_event is not None:
        append = {"store_id": store_id} | decision.append_event.model_dump(mode="json")

    def dump(part: BaseModel | None) -> dict[str, Any] | None:
        return None if part is None else part.model_dump(mode="json")

    return {
        "status": "failure" if failed else "sealed",
        "receipt": receipt,
        "decision": summary,
        "append_event": append,
        "next_touch_packet": dump(out.next_touch),
        "escalation": dump(out.escalation),
        "stop_state": dump(out.stop_state),
    }
