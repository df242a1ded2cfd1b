"""Gate shell: lead cards, BIT scores and expiry commands for one company -> gate verdicts.

Lead cards come packed, many to a record (agents/intake/packing.py): each card is decided on
its own, in order, as a record of its own was. A card whose company is not on the partition the
record landed on (packed with another partition count than the broker's) is sent on alone under
its company's key (as written before packing); a card the gate fails on is dead-lettered alone
(streams/kernel/packed_items.py). What a record's decisions
send to `outreach.gate.verdict` goes packed too, a batch's at once (agents/gate/packing.py,
streams/kernel/loop.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from agents.gate.core import CompanyGateState, GateInput, decide, expires_at
from agents.gate.packing import VERDICTS_TOPIC, packed_verdicts
from agents.gate.remembered import PendingLead
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    BitScoreEvaluated,
    LeadCardReceived,
    LeadCardRecord,
    WaitingLeadsExpiryDue,
)
from streams.kernel.channel import Channel
from streams.kernel.home import home_check
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.packed_items import each_item
from streams.kernel.schedule import DueSchedule
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_due

# A packed record's decisions so far, by company and by slot key (`decide_cards`).
Overlay = tuple[dict[str, CompanyGateState], dict[str, PendingLead | None]]


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

    def decide_record(item: Any, event: Any) -> list[Decided[Any]]:
        if isinstance(item, LeadCardRecord):  # packed cards, or one card
            return decide_cards(item.cards, event)
        return decide_company(item, event)

    home_of = home_check(hub, "lead_cards", "lead_cards")

    def decide_cards(cards: tuple[LeadCardReceived, ...], event: Any) -> list[Decided[Any]]:
        # A card alone is decided where it landed, as every card was before packing (and one
        # sent on alone is keyed by its company); of several, each must be at home here.
        home, alone_here = home_of(event), len(cards) == 1
        # What the record's cards decided so far, which its next card of the same company
        # reads: kept here, not in the stores, until the kernel has the record's outcomes.
        decided_here: Overlay = ({}, {})

        def one(card: LeadCardReceived) -> list[Decided[Any]]:
            key = card.company_sov_id or card.lead_id
            if not alone_here and not home(key):
                return [routed([Emit("lead_cards", key, card)])]  # alone, where it belongs
            return decide_company(card, event, decided_here)

        return each_item(hub, "gate", event, cards,
                         lambda card: card.company_sov_id or card.lead_id, one)

    def decide_company(item: GateInput, _event: Any, overlay: Overlay | None = None,
                       ) -> list[Decided[Any]]:
        key = str(getattr(item, "company_sov_id", None) or getattr(item, "lead_id", ""))
        here, here_slots = overlay or ({}, {})
        state = here[key] if key in here else companies.get(key)

        def recall(slot: int) -> PendingLead | None:
            name = slot_key(key, slot)
            return here_slots[name] if name in here_slots else slots.get(name)

        d = decide(state, item, hub.clock.now(), policy, STABLE_IDS, recall)
        if overlay is not None:
            here[key] = d.state.company
            here_slots.update((slot_key(key, slot), lead) for slot, lead in d.state.slots.items())
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
    Stage(hub, "gate", gate_inputs, decide_record, packs={
        VERDICTS_TOPIC: lambda emits, where, n, most: packed_verdicts(
            emits, where, n, most, STABLE_IDS)}).agent("gate")
    nudge_due(hub, "gate-release-expired-waits", hub.settings.gate_expiry_check_seconds,
              expiries, "lead_cards", lambda: hub.table_items(companies.table), stored_expiry,
              expiry_nudges)
