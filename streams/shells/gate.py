"""Gate shell: lead cards, BIT scores and expiry commands for one company -> gate verdicts."""

from __future__ import annotations

import logging
from typing import Any, cast

from pydantic import BaseModel

from agents.gate.core import CompanyGateState, GateInput, decide, expiry_due
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import BitScoreEvaluated, LeadCardReceived, WaitingLeadsExpiryDue
from streams.kernel.guard import dead_letter_on_error
from streams.kernel.hub import Hub
from streams.kernel.interpreter import carry_out
from streams.kernel.loop import route_in_batch
from streams.kernel.ownership import owned_entries

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    inputs: dict[str, type[BaseModel]] = {
        hub.catalog["lead_cards"].name: LeadCardReceived,
        hub.catalog["gate_scores"].name: BitScoreEvaluated,
        hub.catalog["gate_expiry"].name: WaitingLeadsExpiryDue,
    }
    spec = hub.catalog["lead_cards"]
    companies = hub.app.Table("gate-companies", partitions=spec.partitions)
    channel = hub.app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    policy = hub.settings.gate

    def route_score(event: Any) -> list[Emit]:
        # The BIT Engine may partition with another hash than ours: re-key onto a hub-produced
        # topic so each score meets its company's lead cards on one partition.
        score = BitScoreEvaluated.model_validate(codec.loads(event.value))
        return [Emit("gate_scores", score.company_sov_id, score)]

    async def handle(event: Any) -> None:
        now = hub.clock.now()
        parsed = inputs[event.message.topic].model_validate(codec.loads(event.value))
        key = getattr(parsed, "company_sov_id", None) or getattr(parsed, "lead_id", "")
        raw_state = companies.get(key)
        state = (
            CompanyGateState.model_validate(raw_state)
            if raw_state
            else CompanyGateState(company_sov_id=key)
        )
        decision = decide(state, cast(GateInput, parsed), now, policy, STABLE_IDS)
        await carry_out(hub, decision)
        if decision.state is not state:
            companies[key] = decision.state.model_dump(mode="json")

    @hub.app.agent(hub.topic("bit_scores"), name="gate-score-router")
    async def score_router(stream: Any) -> None:
        # Acknowledged before the scores are, once per batch.
        async for events in stream.take_events(500, within=0.02):
            await route_in_batch(hub, "gate", list(events), route_score)

    @hub.app.agent(channel, name="gate")
    async def gate(stream: Any) -> None:
        async for event in stream.events():
            await dead_letter_on_error(hub, "gate", event, handle)

    @hub.app.timer(hub.settings.gate_expiry_check_seconds)
    async def release_expired_waits() -> None:
        # Runs on every worker, acts only for partitions this worker owns; the command is
        # keyed by company and the core ignores one that finds nothing due (idempotent).
        now = hub.clock.now()
        expiry = hub.topic("gate_expiry")
        async for key, raw_state in owned_entries(hub.app, companies, spec, "waiting"):
            state = CompanyGateState.model_validate(raw_state)
            if state.waiting and expiry_due(state, now, policy):
                command = WaitingLeadsExpiryDue(company_sov_id=state.company_sov_id, issued_at=now)
                await expiry.send(key=key.encode(), value=codec.dumps(command))
