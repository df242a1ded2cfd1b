"""What the person core raises for an agent (SEQ-ESCALATED): a compare-and-set command that
does not match the person's active sequence (seed 002), and a step it cannot decide.

Kept apart from the fold (`person.py`): these build the error events; the fold decides when.
"""

from __future__ import annotations

from datetime import datetime

from agents.sequencer.person_state import PersonState, SequencerContext
from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.models.errors import SEVERITY, OutreachErrorRaised
from streams.contracts.models.sequence import CheckDueTouches


def refuse_stale(state: PersonState, cmd: CheckDueTouches, now: datetime, ctx: SequencerContext
                 ) -> Decision[PersonState] | None:
    """The refusal of a command that does not match the person's active aggregate: counted,
    raised for an agent to look at, the state left as it is. None: the command may go on."""
    active = state.active
    aggregate_id = cmd.aggregate_id or (active.aggregate_id if active else None)
    detail: dict[str, object] = {}
    if active is None:
        reason = "projection_missing"
        message = ("no sequence state for the aggregate; an agent must enrol or repair it "
                   "before any touch is decided")
    elif active.aggregate_id != aggregate_id:
        reason = "aggregate_mismatch"
        message = f"asked about {aggregate_id!r} but the active sequence is {active.aggregate_id!r}"
    elif cmd.idempotency_key in active.projection.applied_keys:
        return None  # a replay: it arrives after its own append moved the version on
    elif cmd.expected_version is not None and cmd.expected_version != active.projection.version:
        reason = "version_conflict"
        message = (f"expected_version {cmd.expected_version} but the projection is at version "
                   f"{active.projection.version}; re-read and decide again")
        detail = {"expected_version": cmd.expected_version,
                  "actual_version": active.projection.version}
    elif (cmd.current_touch_index is not None
          and cmd.current_touch_index != active.projection.last_touch_index):
        # The caller and the store disagree about what was sent: guessing either way risks a
        # duplicate or a skipped touch.
        reason = "touch_index_mismatch"
        message = (f"current_touch_index {cmd.current_touch_index} but the projection's last "
                   f"touch is {active.projection.last_touch_index}")
    else:
        return None
    subject = aggregate_id or state.contact_key
    error = OutreachErrorRaised(
        event_id=ctx.ids.event_id("seq-refused", subject, reason, cmd.expected_version,
                                  cmd.idempotency_key, cmd.issued_at.isoformat()),
        occurred_at=now,
        correlation_id=active.correlation_id if active else f"aggregate:{subject}",
        process_id=ctx.ids.process_id("sequence", now, subject), code="SEQ-ESCALATED",
        severity=SEVERITY["SEQ-ESCALATED"], stage="sequencer", reason=message,
        subject_id=subject, record={"failure": reason, "aggregate_id": aggregate_id, **detail})
    return Decision(state, (Emit("errors", state.contact_key, error),),
                    (Count("sequencer_commands_refused_total", (("reason", reason),)),))


def escalation(state: PersonState, message: str, now: datetime, ctx: SequencerContext) -> Emit:
    """The error raising the active sequence's undecidable step for an agent."""
    active = state.active
    assert active is not None
    error = OutreachErrorRaised(
        event_id=ctx.ids.event_id("seq-escalated", active.aggregate_id, active.projection.version),
        occurred_at=now, correlation_id=active.correlation_id,
        process_id=ctx.ids.process_id("sequence", now, active.aggregate_id),
        code="SEQ-ESCALATED", severity=SEVERITY["SEQ-ESCALATED"], stage="sequencer",
        reason=message, subject_id=active.aggregate_id)
    return Emit("errors", state.contact_key, error)
