"""The gate as a pure fold per company: (state, event, now) -> Decision.

Lead cards and BIT scores are both keyed by company_sov_id on co-partitioned topics, so one
company's leads, its latest score and the leads waiting for that score live on one partition.

A company remembers its recent gated leads so that a newer score can re-gate them, each in a
slot of its own (agents/gate/remembered.py says why); its state names them by fingerprint.
The company's state and a slot are two table writes, which a stop can split. A slot that does
not hold the lead its fingerprint names is skipped when a score re-gates, and the lead's card,
redelivered after that stop, writes it again (`_on_lead`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator

from agents.gate.policy import GatePolicy
from agents.gate.remembered import (
    PendingLead,
    Recall,
    RememberedLead,
    SlotWrites,
    fingerprint,
    fingerprint_of,
    recalled,
    remember,
    remembered,
)
from agents.gate.rules import gate_lead
from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.base import Frozen
from streams.contracts.models.bit_score import BitScoreEvaluated
from streams.contracts.models.errors import SEVERITY, OutreachErrorRaised
from streams.contracts.models.gate import LeadGated, WaitingLeadsExpiryDue
from streams.contracts.models.intake import LeadCardReceived
from streams.contracts.models.lead_batch import Enrichment


class CompanyGateState(Frozen):
    company_sov_id: str
    version: int = 0
    score: BitScoreEvaluated | None = None
    waiting: tuple[PendingLead, ...] = ()
    remembered: tuple[tuple[str, int], ...] = Field(default=(), description=(
        "recent gated leads, oldest first, for re-gating: each lead's fingerprint and the slot "
        "that holds it"))
    gated: tuple[RememberedLead, ...] = Field(default=(), description=(
        "recent gated leads as states stored before slots held them: lead id, batch id, the "
        "lead as JSON; moved into slots by the next change"))

    @field_validator("gated", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        # A state stored before the remembered leads were kept as text holds them as objects.
        if isinstance(value, list | tuple):
            return [remembered(v if isinstance(v, PendingLead) else PendingLead.model_validate(v))
                    if isinstance(v, dict | PendingLead) else v for v in value]
        return value

    def knows(self, lead_id: str, batch_id: str) -> bool:
        return (self.slot_of(fingerprint(lead_id, batch_id)) is not None
                or self.keeps_unslotted(lead_id, batch_id))

    def keeps_unslotted(self, lead_id: str, batch_id: str) -> bool:
        """Waiting, or remembered in a state stored before slots."""
        return any(p.lead_id == lead_id and p.batch_id == batch_id for p in self.waiting) or any(
            g[0] == lead_id and g[1] == batch_id for g in self.gated)

    def slot_of(self, print_: str) -> int | None:
        for fp, slot in self.remembered:
            if fp == print_:
                return slot
        return None


@dataclass(frozen=True, slots=True)
class CompanyGate:
    """A decision's new company state and the remembered-lead slots it writes."""

    company: CompanyGateState
    slots: SlotWrites = field(default_factory=dict)


GateInput = LeadCardReceived | BitScoreEvaluated | WaitingLeadsExpiryDue
GateDecision = Decision[CompanyGate]


def _nothing(_slot: int) -> PendingLead | None:
    return None


def decide(
    state: CompanyGateState,
    event: GateInput,
    now: datetime,
    policy: GatePolicy,
    ids: IdFactory,
    recall: Recall = _nothing,
) -> GateDecision:
    if state.gated:  # stored before slots: its remembered leads move into slots on a change
        moved, slots = _remember(state.model_copy(update={"gated": ()}),
                                 tuple(map(recalled, state.gated)), policy, bump=False)
        d = _decide(moved, event, now, policy, ids, lambda s: slots[s] if s in slots else recall(s))
        if d.state.company is moved:
            return Decision(CompanyGate(state), d.emits, d.effects)  # unchanged: stored as it was
        return Decision(CompanyGate(d.state.company, {**slots, **d.state.slots}), d.emits,
                        d.effects)
    return _decide(state, event, now, policy, ids, recall)


def _decide(
    state: CompanyGateState, event: GateInput, now: datetime, policy: GatePolicy,
    ids: IdFactory, recall: Recall,
) -> GateDecision:
    if isinstance(event, LeadCardReceived):
        return _on_lead(state, event, now, policy, ids, recall)
    if isinstance(event, BitScoreEvaluated):
        return _on_score(state, event, now, policy, ids, recall)
    return _on_expiry_due(state, now, policy, ids)


def expires_at(state: CompanyGateState, policy: GatePolicy) -> datetime | None:
    """When the company's longest-waiting lead passes its bound (None: no lead waits). The
    shell's due index nudges the company then, instead of reading every company each tick."""
    if not state.waiting:
        return None
    return min(p.received_at for p in state.waiting) + timedelta(seconds=policy.max_wait_seconds)


def expiry_due(state: CompanyGateState, now: datetime, policy: GatePolicy) -> bool:
    """True when some lead has waited past its bound."""
    at = expires_at(state, policy)
    return at is not None and at <= now


def _on_lead(
    state: CompanyGateState,
    card: LeadCardReceived,
    now: datetime,
    policy: GatePolicy,
    ids: IdFactory,
    recall: Recall,
) -> GateDecision:
    if card.disposition != "FORWARDED":
        return Decision(CompanyGate(state))  # not executable: nothing to decide
    print_ = fingerprint(card.lead_id, card.batch_id)
    slot = state.slot_of(print_)
    if slot is not None:
        held = recall(slot)
        if held is not None and fingerprint_of(held) == print_:
            return Decision(CompanyGate(state))  # a redelivery: nothing new to decide
    elif state.keeps_unslotted(card.lead_id, card.batch_id):
        return Decision(CompanyGate(state))  # a redelivery of a waiting lead
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
    if state.score is None and slot is None:
        waiting = state.model_copy(
            update={"waiting": (*state.waiting, pending), "version": state.version + 1}
        )
        return Decision(CompanyGate(waiting), effects=(Count("gate_leads_waiting_total"),))
    # Gated now, or gated before and its slot lost to a stop between the two writes: the
    # verdict is emitted again under the same ids, and the slot written.
    gated, emits, effects = _gate(pending, state.score, now, policy, ids)
    return Decision(_remember_gate(state, (gated,), policy), tuple(emits), tuple(effects))


def _on_score(
    state: CompanyGateState,
    score: BitScoreEvaluated,
    now: datetime,
    policy: GatePolicy,
    ids: IdFactory,
    recall: Recall,
) -> GateDecision:
    if state.score is not None and score.evaluated_at <= state.score.evaluated_at:
        return Decision(CompanyGate(state), effects=(Count("gate_scores_ignored_total"),))
    emits: list[Emit] = []
    effects: list[Count] = []
    slots: SlotWrites = {}
    for print_, slot in state.remembered:
        pending = recall(slot)
        if pending is None or fingerprint_of(pending) != print_:
            continue  # lost to a stop between two writes; the card's redelivery restores it
        gated, e, f = _gate(pending, score, now, policy, ids)
        if gated != pending:
            slots[slot] = gated
        emits += e
        effects += f
    released: list[PendingLead] = []
    for pending in state.waiting:
        gated, e, f = _gate(pending, score, now, policy, ids)
        released.append(gated)
        emits += e
        effects += f
    fresh, more = _remember(state.model_copy(update={"score": score, "waiting": ()}),
                            tuple(released), policy)
    return Decision(CompanyGate(fresh, {**slots, **more}), tuple(emits), tuple(effects))


def _on_expiry_due(
    state: CompanyGateState, now: datetime, policy: GatePolicy, ids: IdFactory
) -> GateDecision:
    bound = timedelta(seconds=policy.max_wait_seconds)
    expired = tuple(p for p in state.waiting if p.received_at + bound <= now)
    if not expired:
        return Decision(CompanyGate(state))  # a duplicate or early command: nothing is due
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
        _remember_gate(state.model_copy(update={"waiting": still}), tuple(released), policy),
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


def _remember_gate(
    state: CompanyGateState, gated: tuple[PendingLead, ...], policy: GatePolicy
) -> CompanyGate:
    company, slots = _remember(state, gated, policy)
    return CompanyGate(company, slots)


def _remember(
    state: CompanyGateState, gated: tuple[PendingLead, ...], policy: GatePolicy,
    bump: bool = True,
) -> tuple[CompanyGateState, SlotWrites]:
    entries, slots = remember(state.remembered, gated, policy.remembered_leads_per_company)
    version = state.version + 1 if bump else state.version
    return state.model_copy(update={"remembered": entries, "version": version}), slots
