"""Gate shell: lead cards, BIT scores and expiry commands for one company -> gate verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from agents.gate.core import CompanyGateState, GateInput, decide, expires_at
from agents.gate.remembered import PendingLead
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import BitScoreEvaluated, WaitingLeadsExpiryDue
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.schedule import DueSchedule
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_due


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

    # Which companies have a lead waiting, and when the first one's wait ends: kept on every
    # write, so a tick reads what is due rather than every company (decoding each company
    # every tick grew with the companies: 11% of a worker's time in a 30-minute soak).
    expiries = DueSchedule(hub.catalog["lead_cards"].partitions)
    companies.on_write = lambda key, state, partition: expiries.update(
        key, expires_at(state, policy), partition)

    def stored_expiry(_key: str, raw: Any) -> float | None:
        if not raw.get("waiting"):
            return None
        at = expires_at(CompanyGateState.model_validate(raw), policy)
        return None if at is None else at.timestamp()

    def expiry_nudges(due: dict[int, list[str]], now: datetime) -> Iterator[Emit]:
        # Keyed by company; the core ignores a command that finds nothing due.
        for keys in due.values():
            for key in keys:
                yield Emit("gate_expiry", key,
                           WaitingLeadsExpiryDue(company_sov_id=key, issued_at=now))

    # Scores are acknowledged by the broker before their re-keyed copies are: none is lost.
    Stage(hub, "gate", Channel(hub, "bit_scores"), route_score).agent("gate-score-router")
    gate_inputs = Channel(hub, "lead_cards", "gate_scores", "gate_expiry")
    Stage(hub, "gate", gate_inputs, decide_company).agent("gate")
    nudge_due(hub, "gate-release-expired-waits", hub.settings.gate_expiry_check_seconds,
              expiries, "lead_cards", lambda: hub.table_items(companies.table), stored_expiry,
              expiry_nudges)
