"""Gate shell: lead cards, BIT scores and expiry commands for one company -> gate verdicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from agents.gate.core import CompanyGateState, GateInput, decide, expiry_due
from agents.gate.remembered import PendingLead
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import BitScoreEvaluated, WaitingLeadsExpiryDue
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_every, owned_states


def slot_key(company_key: str, slot: int) -> str:
    return f"{company_key}#{slot}"


def register(hub: Hub) -> None:
    policy = hub.settings.gate
    companies: TableStore[CompanyGateState] = TableStore.of(
        hub, "gate-companies", "lead_cards", CompanyGateState,
        default=lambda key: CompanyGateState(company_sov_id=key))
    # A company's remembered leads, one per slot (agents/gate/core.py says why), on the same
    # partitions as the companies: every read and write is under one of the company's records.
    slots: TableStore[PendingLead | None] = TableStore.of(
        hub, "gate-remembered-leads", "lead_cards", PendingLead, default=lambda _key: None)

    def route_score(score: BitScoreEvaluated, _event: Any) -> Decided[None]:
        # The BIT Engine may partition with another hash than ours: re-key onto a hub-produced
        # topic so each score meets its company's lead cards on one partition.
        return routed([Emit("gate_scores", score.company_sov_id, score)])

    def decide_company(item: GateInput, _event: Any) -> list[Decided[Any]]:
        key = str(getattr(item, "company_sov_id", None) or getattr(item, "lead_id", ""))
        state = companies.get(key)
        d = decide(state, item, hub.clock.now(), policy, STABLE_IDS,
                   lambda slot: slots.get(slot_key(key, slot)))
        company = companies.decided(key, state, Decision(d.state.company, d.emits, d.effects))
        # The slots first: a stop between the writes leaves a slot its company does not name
        # yet, which nothing reads, rather than a company naming a lead its slot lacks.
        return [*(slots.decided(slot_key(key, slot), None, Decision(lead))
                  for slot, lead in d.state.slots.items()), company]

    async def expired_waits(now: datetime) -> AsyncIterator[Emit]:
        # The command is keyed by company; the core ignores one that finds nothing due.
        async for key, state in owned_states(hub, companies, "lead_cards", "waiting"):
            if state.waiting and expiry_due(state, now, policy):
                command = WaitingLeadsExpiryDue(company_sov_id=state.company_sov_id, issued_at=now)
                yield Emit("gate_expiry", key, command)

    # Scores are acknowledged by the broker before their re-keyed copies are: none is lost.
    Stage(hub, "gate", Channel(hub, "bit_scores"), route_score).agent("gate-score-router")
    gate_inputs = Channel(hub, "lead_cards", "gate_scores", "gate_expiry")
    Stage(hub, "gate", gate_inputs, decide_company).agent("gate")
    nudge_every(hub, "gate-release-expired-waits", hub.settings.gate_expiry_check_seconds,
                expired_waits)
