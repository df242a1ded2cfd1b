"""One input of the sender, decided: a report settles what it names, a touch is sent or
recorded (pure). The shell only looks up the person, asks here, and carries out a send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from agents.sender.core import (
    CAMPAIGN_GATE,
    CONTENT_REFUSED,
    IN_FLIGHT_AT_RESTART,
    NOT_APPROVED,
    UNKNOWN_OUTCOME,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
    on_engagement,
    on_evidence,
    record_result,
)
from agents.sender.inflight import DEFAULT_POLICY, UnknownOutcomePolicy
from streams.contracts.decision import Decision
from streams.contracts.ids import IdFactory
from streams.contracts.models import EngagementRecorded, SendRecorded, TouchRequested
from streams.contracts.records import describe


def unknown_outcome_policy(
    provider: str, chosen: str | None, after_wall_s: float, clock_speed: float
) -> UnknownOutcomePolicy:
    """The configured policy, else the provider's default. The bound is wall seconds (evidence
    arrives in wall time, however fast the hub's clock runs), expressed in hub time."""
    policy = chosen or DEFAULT_POLICY.get(provider, "fail")
    return UnknownOutcomePolicy(policy, timedelta(seconds=after_wall_s * clock_speed))  # type: ignore[arg-type]


def on_report(
    state: SenderState, report: SendRecorded | EngagementRecorded, now: datetime,
    ids: IdFactory, provider: str,
) -> Decision[SenderState]:
    """The hub's own send record, or a provider event, settles an unknown outcome it names;
    an unsubscribe, complaint or hard bounce also suppresses the address."""
    if isinstance(report, SendRecorded):
        return on_evidence(state, report.idempotency_key, None, now, ids, provider=provider,
                           recorded=True)
    return on_evidence(on_engagement(state, report), report.idempotency_key,
                       report.provider_message_id, now, ids, provider=report.provider,
                       recorded=False)


@dataclass(frozen=True, slots=True)
class RefusedOnViews:
    """The touch is refused on what this worker's views say: its campaign not active or
    outside its window, or its content not under the approval in force. ``decision`` records
    the refusal (failed, OUT-003). The views may lag the sequencer's, which requested it: the
    shell may catch them up and decide again before it carries this out."""

    decision: Decision[SenderState]


def decide_touch(
    state: SenderState, request: TouchRequested, cfg: SenderConfig,
    campaign_refusal: str | None, now: datetime, ids: IdFactory, provider: str,
    unknown: UnknownOutcomePolicy,
) -> Decision[SenderState] | SendEmail | RefusedOnViews:
    """`decide_request` with every outcome but a send turned into its decision."""
    try:
        outcome = decide_request(state, request, cfg, campaign_refusal, now=now, unknown=unknown)
    except ValidationError as exc:  # e.g. an address no provider would accept
        return record_result(state, request, now, ids, provider=provider,
                             failure=f"cannot render the email: {describe(exc)}")
    if isinstance(outcome, RecordWithoutSending):
        at_restart = outcome.provider == IN_FLIGHT_AT_RESTART
        recorded = record_result(
            state, request, now, ids, provider=outcome.provider,
            failure=outcome.failure or (UNKNOWN_OUTCOME if at_restart else None))
        if outcome.provider == CAMPAIGN_GATE or (outcome.provider == CONTENT_REFUSED
                                                 and outcome.failure in NOT_APPROVED):
            return RefusedOnViews(recorded)
        return recorded
    return outcome


def refused_at_call(
    marked: SenderState, request: TouchRequested, campaign_refusal: str | None,
    now: datetime, ids: IdFactory,
) -> Decision[SenderState] | None:
    """A touch is sent after its batch's earlier touches, moments after it was decided: a
    campaign paused (or past its window) in between refuses it at the call, with its in-flight
    marker settled as failed, as deciding it then would have. None: it may be sent."""
    if campaign_refusal is None:
        return None
    return record_result(marked, request, now, ids, provider=CAMPAIGN_GATE,
                         failure=campaign_refusal)
