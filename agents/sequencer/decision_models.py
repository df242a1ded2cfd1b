"""What decide() answers, in the shapes of seed 002's harness: the outcome, the one append
(compare-and-set on expected_version, with its idempotency key), the next-touch packet, the
stop state and the escalation."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from agents.sequencer.definition import Channel, Touch
from agents.sequencer.projection import SequenceEventRecord, UtcDatetime
from streams.contracts.models.base import Frozen

NEXT_TOUCH_PACKET: Final = "runx.outreach.next_touch.v1"

DecisionKind = Literal["next_touch", "wait", "stop", "complete", "failure"]
FailureReason = Literal["projection_missing", "aggregate_mismatch", "version_conflict",
                        "touch_index_mismatch", "idempotency_key_conflict"]
WaitReason = Literal["min_days_apart", "cooling_off"]
AppendType = Literal["touch_requested", "sequence_stopped", "sequence_completed"]


class ContactRef(Frozen):
    """Who the touch is for and under which principal; passed through, never widened."""

    principal: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    channel: Channel | None = None


class NextTouchPacket(Frozen):
    packet: Literal["runx.outreach.next_touch.v1"] = NEXT_TOUCH_PACKET
    aggregate_id: str
    touch: Touch
    contact_ref: ContactRef
    idempotency_key: str
    due_at: UtcDatetime


class StopState(Frozen):
    reason: str
    stopped_at: UtcDatetime
    last_touch_index: int


class Escalation(Frozen):
    reason: FailureReason
    needs: Literal["agent"] = "agent"
    message: str
    aggregate_id: str | None = None
    expected_version: int | None = None
    actual_version: int | None = None


class DecisionOutcome(Frozen):
    """What was decided; recorded inside the append so a replay returns exactly this."""

    kind: DecisionKind
    aggregate_id: str | None
    idempotency_key: str
    decided_at: UtcDatetime
    # The last touch the decision was based on (before the touch it may request).
    last_touch_index: int = 0
    next_touch: NextTouchPacket | None = None
    wait_until: UtcDatetime | None = None
    wait_reason: WaitReason | None = None
    stop_state: StopState | None = None
    escalation: Escalation | None = None


class AppendEvent(Frozen):
    """The compare-and-set append the caller must perform (at most one per decision)."""

    aggregate_id: str
    type: AppendType
    expected_version: int = Field(ge=0)
    version: int = Field(ge=1)
    idempotency_key: str
    occurred_at: UtcDatetime
    touch_index: int | None = None
    reason: str | None = None
    decision: DecisionOutcome

    def to_record(self) -> SequenceEventRecord:
        return SequenceEventRecord(
            type=self.type,
            touch_index=self.touch_index,
            occurred_at=self.occurred_at,
            idempotency_key=self.idempotency_key,
            reason=self.reason,
            decision=self.decision.model_dump(mode="json"),
        )


class SequencerDecision(Frozen):
    outcome: DecisionOutcome
    append_event: AppendEvent | None = None
    # True when the key was already appended: the earlier outcome, and nothing to append.
    replayed: bool = False

    @property
    def kind(self) -> DecisionKind:
        return self.outcome.kind
