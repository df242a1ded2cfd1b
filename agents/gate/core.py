"""The gate as a pure fold per company: (state, event, now) -> Decision.

Lead cards and BIT scores are both keyed by company_sov_id on co-partitioned topics, so one
company's leads, its latest score and the leads waiting for that score live on one partition.

A company remembers its recent gated leads so that a newer score can re-gate them, in the same
state and the same table write as the rest of its decision (two writes could be split by a
stop). Every lead rewrites that state, so the remembered leads are kept as text: each as its
name and its PendingLead's JSON, decoded only when a newer score re-gates. As models, 200
remembered leads cost ~1.6 ms a lead to validate and dump (45% of a worker's CPU in the soak
of bench/e2e.py); as text, ~0.18 ms.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from agents.gate.policy import GatePolicy
from agents.gate.rules import gate_lead
from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.base import AwareDatetime, Frozen
from streams.contracts.models.bit_score import BitScoreEvaluated
from streams.contracts.models.errors import SEVERITY, OutreachErrorRaised
from streams.contracts.models.gate import GateVerdict, LeadGated, WaitingLeadsExpiryDue
from streams.contracts.models.intake import LeadCardReceived
from streams.contracts.models.lead_batch import Enrichment


class PendingLead(Frozen):
    """What the gate keeps of a forwarded lead card: enough to gate it again."""

    lead_id: str
    batch_id: str
    correlation_id: str
    enrichment: Enrichment | None
    received_at: AwareDatetime
    last_verdict: GateVerdict | None = None


# A remembered lead: (lead_id, batch_id, the PendingLead as JSON text). The same lead in
# another batch is another handoff, gated again.
RememberedLead = tuple[str, str, str]


def remembered(lead: PendingLead) -> RememberedLead:
    return (lead.lead_id, lead.batch_id, lead.model_dump_json())


def recalled(lead: RememberedLead) -> PendingLead:
    return PendingLead.model_validate_json(lead[2])


class CompanyGateState(Frozen):
    company_sov_id: str
    version: int = 0
    score: BitScoreEvaluated | None = None
    waiting: tuple[PendingLead, ...] = ()
    gated: tuple[RememberedLead, ...] = Field(default=(), description=(
        "recent gated leads, oldest first, for re-gating: lead id, batch id, the lead as JSON"))

    @field_validator("gated", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # A state stored before the remembered leads were kept as text holds them as objects.
        if isinstance(value, list | tuple):
            return [remembered(v if isinstance(v, PendingLead) else PendingLead.model_validate(v))
                    if isinstance(v, dict | PendingLead) else v for v in value]
        return value

    def knows(self, lead_id: str, batch_id: str) -> bool:
        return any(p.lead_id == lead_id and p.batch_id == batch_id for p in self.waiting) or any(
            g[0] == lead_id and g[1] == batch_id for g in self.gated)


GateInput = LeadCardReceived | BitScoreEvaluated | WaitingLeadsExpiryDue
GateDecision = Decision[CompanyGateState]


def decide(
    state: CompanyGateState, event: GateInput, now: datetime, policy: GatePolicy, ids: IdFactory
) -> GateDecision:
    if isinstance(event, LeadCardReceived):
        return _on_lead(state, event, now, policy, ids)
    if isinstance(event, BitScoreEvaluated):
        return _on_score(state, event, now, policy, ids)
    return _on_expiry_due(state, now, policy, ids)


def expiry_due(state: CompanyGateState, now: datetime, policy: GatePolicy) -> bool:
    """True when some lead has waited past its bound (the shell's timer asks this)."""
    bound = timedelta(seconds=policy.max_wait_seconds)
    return any(p.received_at + bound <= now for p in state.waiting)


def _on_lead(
    state: CompanyGateState,
    card: LeadCardReceived,
    now: datetime,
    policy: GatePolicy,
    ids: IdFactory,
) -> GateDecision:
    if card.disposition != "FORWARDED" or state.knows(card.lead_id, card.batch_id):
        return Decision(state)  # not executable, or a redelivery: nothing new to decide
    enrichment = (
        Enrichment.model_validate(card.card["enrichment"]) if card.card.get("enrichment") else None
    )
    pending = PendingLead(
        lead_id=card.lead_id,
        batch_id=card.batch_id,
        correlation_id=card.correlation_id,
        enrichment=enrichment,
        received_at=now,
    )
    if state.score is None:
        waiting = state.model_copy(
            update={"waiting": (*state.waiting, pending), "version": state.version + 1}
        )
        return Decision(waiting, effects=(Count("gate_leads_waiting_total"),))
    gated, emits, effects = _gate(pending, state.score, now, policy, ids)
    return Decision(_remember(state, (gated,), policy), tuple(emits), tuple(effects))


def _on_score(
    state: CompanyGateState,
    score: BitScoreEvaluated,
    now: datetime,
    policy: GatePolicy,
    ids: IdFactory,
) -> GateDecision:
    if state.score is not None and score.evaluated_at <= state.score.evaluated_at:
        return Decision(state, effects=(Count("gate_scores_ignored_total"),))  # stale or replay
    emits: list[Emit] = []
    effects: list[Count] = []
    regated: list[PendingLead] = []
    for pending in (*map(recalled, state.gated), *state.waiting):
        gated, e, f = _gate(pending, score, now, policy, ids)
        regated.append(gated)
        emits += e
        effects += f
    fresh = state.model_copy(update={"score": score, "waiting": (), "gated": ()})
    return Decision(_remember(fresh, tuple(regated), policy), tuple(emits), tuple(effects))


def _on_expiry_due(
    state: CompanyGateState, now: datetime, policy: GatePolicy, ids: IdFactory
) -> GateDecision:
    bound = timedelta(seconds=policy.max_wait_seconds)
    expired = tuple(p for p in state.waiting if p.received_at + bound <= now)
    if not expired:
        return Decision(state)  # a duplicate or early command: nothing is due
    emits: list[Emit] = []
    effects: list[Count] = []
    released: list[PendingLead] = []
    for pending in expired:
        gated, e, f = _gate(pending, None, now, policy, ids)
        released.append(gated)
        emits += e
        effects += f
    still = tuple(p for p in state.waiting if p not in expired)
    return Decision(
        _remember(state.model_copy(update={"waiting": still}), tuple(released), policy),
        tuple(emits),
        tuple(effects),
    )


def _gate(
    pending: PendingLead,
    score: BitScoreEvaluated | None,
    now: datetime,
    policy: GatePolicy,
    ids: IdFactory,
) -> tuple[PendingLead, list[Emit], list[Count]]:
    verdict = gate_lead(
        pending.enrichment,
        score.bit_score if score else None,
        policy,
        fallback_lifecycle=score.lifecycle_state if score else None,
    )
    gated = pending.model_copy(update={"last_verdict": verdict})
    if pending.last_verdict == verdict:
        return gated, [], []  # a newer score that changes nothing emits nothing
    company = pending.enrichment.company_sov_id if pending.enrichment else None
    key = company or pending.lead_id
    scored_at = score.evaluated_at if score else None
    correlation = score.correlation_id if score else pending.correlation_id
    process_id = ids.process_id(
        "campaign", scored_at or pending.received_at, pending.lead_id, pending.batch_id
    )
    contact = pending.enrichment.contact if pending.enrichment else None
    event = LeadGated(
        event_id=ids.event_id("lead-gated", pending.lead_id, pending.batch_id, scored_at),
        occurred_at=now,
        correlation_id=correlation,
        process_id=process_id,
        lead_id=pending.lead_id,
        batch_id=pending.batch_id,
        company_sov_id=company,
        bit_score=score.bit_score if score else None,
        score_evaluated_at=scored_at,
        verdict=verdict.verdict,
        tier=verdict.tier,
        strategy=verdict.strategy,
        reasons=verdict.reasons,
        error_code=verdict.error_code,
        company_name=pending.enrichment.company_name if pending.enrichment else None,
        domain=pending.enrichment.domain if pending.enrichment else None,
        contact=contact,
    )
    emits = [Emit("gate_verdicts", key, event)]
    if verdict.error_code is not None:
        error = OutreachErrorRaised(
            event_id=ids.event_id("gate-error", event.event_id),
            occurred_at=now,
            correlation_id=correlation,
            process_id=process_id,
            code=verdict.error_code,
            severity=SEVERITY[verdict.error_code],
            stage="gate",
            reason=f"{verdict.verdict}: {', '.join(verdict.reasons)}",
            subject_id=pending.lead_id,
            record={
                "lead_id": pending.lead_id,
                "batch_id": pending.batch_id,
                "company_sov_id": company,
                "bit_score": event.bit_score,
                "reasons": list(verdict.reasons),
            },
        )
        emits.append(Emit("errors", key, error))
    counts = [
        Count(
            "gate_verdicts_total", (("verdict", verdict.verdict), ("tier", verdict.tier or "none"))
        )
    ]
    return gated, emits, counts


def _remember(
    state: CompanyGateState, gated: tuple[PendingLead, ...], policy: GatePolicy
) -> CompanyGateState:
    keep = policy.remembered_leads_per_company
    recent = (*state.gated, *map(remembered, gated))[-keep:] if keep else ()
    return state.model_copy(update={"gated": recent, "version": state.version + 1})
