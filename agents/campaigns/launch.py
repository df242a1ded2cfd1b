"""The governed launch (seed 004 mapped onto campaigns, SPEC §3): one command in, the
campaign's new state and its events out.

received -> validated -> eligibility MAY / MAY_NOT -> DRAFT (expires_at) -> review (approve,
reject, ask, modify_scope) -> active, or scheduled until the approved window opens. Every
transition is a versioned `CampaignStateChanged`; every refused command a
`CampaignCommandRejected` with its reason; a command id already decided is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.campaigns.aggregate import (
    AUTO_APPROVER,
    REMEMBERED_COMMANDS,
    CampaignAggregate,
    CampaignPolicy,
    EligibilityFacts,
    window_open,
)
from agents.campaigns.eligibility import creation_problems, eligibility
from agents.campaigns.state_machine import illegal_reason, targets
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.campaign import (
    ApprovalTerms,
    CampaignCommand,
    CampaignCommandRejected,
    CampaignState,
    CampaignStateChanged,
)
from streams.contracts.models.errors import SEVERITY, OutreachErrorRaised

Result = Decision[CampaignAggregate]


class _Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def decide(state: CampaignAggregate, command: CampaignCommand, now: datetime,
           policy: CampaignPolicy, facts: EligibilityFacts, ids: IdFactory) -> Result:
    if command.command_id in state.decided_commands:
        return Decision(state)  # redelivered: decided once already
    run = _Run(command, now, policy, facts, ids)
    try:
        if not targets(state.state, command.command):
            raise _Refused("illegal_transition", illegal_reason(state.state, command.command))
        after = _HANDLERS[command.command](run, state)
    except _Refused as refused:
        return run.refused(state, refused)
    return Decision(_remember(after, command.command_id), tuple(run.emits))


def _remember(state: CampaignAggregate, command_id: str) -> CampaignAggregate:
    decided = (*state.decided_commands, command_id)[-REMEMBERED_COMMANDS:]
    return state.model_copy(update={"decided_commands": decided})


class _Run:
    """One decision's inputs and the events it has emitted so far."""

    def __init__(self, command: CampaignCommand, now: datetime, policy: CampaignPolicy,
                 facts: EligibilityFacts, ids: IdFactory) -> None:
        self.command, self.now, self.policy, self.facts, self.ids = (
            command, now, policy, facts, ids)
        self.emits: list[Emit] = []

    def move(self, state: CampaignAggregate, to: CampaignState,
             command: CampaignCommand | None = None, **changes: Any) -> CampaignAggregate:
        """`state` -> `to` with `changes`, and the versioned event that records it."""
        command = command or self.command
        after = state.model_copy(update={**changes, "state": to, "version": state.version + 1})
        event = CampaignStateChanged(
            event_id=self.ids.event_id("campaign", after.campaign_id, after.version),
            occurred_at=self.now, correlation_id=self._correlation(after),
            process_id=after.process_id or self._process_id(after),
            campaign_id=after.campaign_id, version=after.version, from_state=state.state,
            to_state=to, actor=command.actor, reason=command.reason,
            expires_at=after.expires_at if to in ("requested", "draft") else None,
            command=command.command, command_id=command.command_id,
            company_sov_id=after.company_sov_id, tier=after.tier, strategy=after.strategy,
            sequence_id=after.sequence_id, draft_version=after.draft_version or None,
            eligibility=after.eligibility, approval=after.approval,
            content_digests=after.content_digests, health_verdict_id=after.health_verdict_id,
            audit_verdict_id=after.audit_verdict_id, audience=after.audience,
            note=command.note,
        )
        self.emits.append(Emit("campaign_events", after.campaign_id, event))
        return after

    def refused(self, state: CampaignAggregate, refused: _Refused) -> Result:
        c = self.command
        event = CampaignCommandRejected(
            event_id=self.ids.event_id("campaign-rejected", c.campaign_id, c.command_id),
            occurred_at=self.now, correlation_id=self._correlation(state),
            process_id=state.process_id or self._process_id(state), campaign_id=c.campaign_id,
            command_id=c.command_id, command=c.command, actor=c.actor, state=state.state,
            version=state.version, code=refused.code, reason=refused.reason,
        )
        emits = [Emit("campaign_events", c.campaign_id, event)]
        if c.command == "request" and state.state is None:  # OUT-005: creation failed
            emits.append(Emit("errors", c.campaign_id, self._creation_failed(event)))
        return Decision(_remember(state, c.command_id), tuple(emits))

    def _creation_failed(self, rejected: CampaignCommandRejected) -> OutreachErrorRaised:
        return OutreachErrorRaised(
            event_id=self.ids.event_id("campaign-error", rejected.event_id),
            occurred_at=self.now, correlation_id=rejected.correlation_id,
            process_id=rejected.process_id, code="OUT-005", severity=SEVERITY["OUT-005"],
            stage="campaigns", reason=f"campaign creation failed: {rejected.reason}",
            subject_id=rejected.campaign_id,
            record={"command_id": rejected.command_id, "code": rejected.code,
                    "company_sov_id": self.command.company_sov_id, "tier": self.command.tier},
        )

    def _correlation(self, state: CampaignAggregate) -> str:
        return state.correlation_id or self.command.correlation_id or state.campaign_id

    def _process_id(self, state: CampaignAggregate) -> str:
        # From the command's own time: a redelivered command names the same process.
        return self.ids.process_id("campaign", self.command.issued_at, state.campaign_id)


def _request(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
    c = run.command
    if state.state is not None:
        if not c.actor.startswith("system:gate"):
            raise _Refused("already_exists", f"the campaign exists ({state.state})")
        # A later ALLOW of the same company and strategy: one more person in the audience.
        return run.move(state, state.state, audience=state.audience + (c.audience or 1))
    if problems := creation_problems(c):
        raise _Refused("invalid_request", "; ".join(problems))
    verdict = eligibility(c, run.facts)
    if verdict.verdict == "MAY_NOT":
        raise _Refused("not_eligible", "eligibility MAY_NOT: " + ", ".join(verdict.reasons))
    received = state.model_copy(update={
        "company_sov_id": c.company_sov_id, "tier": c.tier, "strategy": c.strategy,
        "sequence_id": c.sequence_id, "correlation_id": c.correlation_id,
        "process_id": run.ids.process_id("campaign", c.issued_at, state.campaign_id),
        "eligibility": verdict, "audience": c.audience or 0,
    })
    requested = run.move(received, "requested")
    draft = run.move(requested, "draft", draft_version=1, content_digests=_digests(c),
                     expires_at=run.now + run.policy.draft_ttl)
    if c.tier in run.policy.auto_approve_tiers:
        auto = CampaignCommand(command_id=f"{c.command_id}:auto-approve", command="approve",
                               campaign_id=c.campaign_id, actor=AUTO_APPROVER,
                               issued_at=c.issued_at, reason="tier approved by policy")
        return _approve_with(run, draft, auto)
    return draft


def _digests(c: CampaignCommand) -> tuple[str, ...]:
    return c.approval.content_digests if c.approval else ()


def _approve(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
    return _approve_with(run, state, run.command)


def _approve_with(run: _Run, state: CampaignAggregate,
                  c: CampaignCommand) -> CampaignAggregate:
    proposed = c.approval or ApprovalTerms()
    if state.state == "draft" and c.draft_version not in (None, state.draft_version):
        raise _Refused("stale_draft_version",
                       f"draft version {c.draft_version} was replaced by version "
                       f"{state.draft_version}: review and approve that one")
    if state.health_verdict_id is not None and (
            proposed.overrides_health_verdict_id != state.health_verdict_id):
        raise _Refused("health_pause",
                       f"paused by health verdict {state.health_verdict_id}: only an approval "
                       "with overrides_health_verdict_id naming it lifts the pause")
    if proposed.content_digests and set(proposed.content_digests) != set(state.content_digests):
        raise _Refused("digests_mismatch",
                       "the approval names content digests the draft does not have")
    start = proposed.window_start or run.now
    if proposed.window_end is not None and proposed.window_end <= max(start, run.now):
        raise _Refused("bad_window", "the activation window ends before it could open")
    terms = proposed.model_copy(update={
        "window_start": start,
        "max_sends_per_hour": proposed.max_sends_per_hour or run.policy.max_sends_per_hour,
        "max_sends_per_day": proposed.max_sends_per_day or run.policy.max_sends_per_day,
        "content_digests": state.content_digests, "approved_by": c.actor,
        "approved_at": run.now,
    })
    to: CampaignState = "active" if window_open(terms, run.now) else "scheduled"
    return run.move(state, to, c, approval=terms, health_verdict_id=None, expires_at=None)


def _resume(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
    if state.health_verdict_id is not None:
        raise _Refused("health_pause",
                       f"paused by health verdict {state.health_verdict_id}: resume cannot lift "
                       "it, only a new approval overriding that verdict")
    return run.move(state, "active" if window_open(state.approval, run.now) else "scheduled")


def _modify_scope(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
    scope = run.command.scope
    if scope is None:
        raise _Refused("missing_scope", "modify_scope needs a scope")
    return run.move(
        state, "draft", draft_version=state.draft_version + 1,
        sequence_id=scope.sequence_id or state.sequence_id,
        content_digests=(state.content_digests if scope.content_digests is None
                         else scope.content_digests),
        max_audience=state.max_audience if scope.max_audience is None else scope.max_audience,
        expires_at=run.now + run.policy.draft_ttl,
    )


def _expire(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
    if state.expires_at is None or run.now < state.expires_at:
        raise _Refused("not_expired", f"the draft expires at {state.expires_at}")
    return run.move(state, "expired")


def _activate(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
    if not window_open(state.approval, run.now):
        raise _Refused("window_not_open", "the approved activation window is not open")
    return run.move(state, "active")


def _pause_for_health(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
    verdict = run.command.health_verdict_id
    if not verdict:
        raise _Refused("missing_verdict", "pause_for_health needs health_verdict_id")
    return run.move(state, "paused", health_verdict_id=verdict)


def _audited(to: CampaignState) -> Any:
    def handle(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
        return run.move(state, to, audit_verdict_id=run.command.audit_verdict_id)
    return handle


def _simple(to: CampaignState) -> Any:
    def handle(run: _Run, state: CampaignAggregate) -> CampaignAggregate:
        return run.move(state, to)
    return handle


_HANDLERS = {
    "request": _request, "approve": _approve, "reject": _simple("rejected"),
    "ask": _simple("draft"), "modify_scope": _modify_scope, "pause": _simple("paused"),
    "resume": _resume, "cancel": _simple("cancelled"), "expire": _expire,
    "activate": _activate, "pause_for_health": _pause_for_health,
    "complete": _audited("completed"), "fail": _audited("failed"),
}
