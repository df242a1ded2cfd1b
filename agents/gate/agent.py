"""Gate shell: lead cards, BIT scores and expiry commands for one company -> gate verdicts."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ValidationError

from agents.dead_letter import dead_letter
from agents.gate.core import CompanyGateState, decide, expiry_due
from agents.records import SourceRef
from streams import codec
from streams.app import Hub
from streams.ids import STABLE_IDS
from streams.interpreter import carry_out
from streams.models import BitScoreEvaluated, LeadCardReceived, WaitingLeadsExpiryDue

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    inputs: dict[str, type[BaseModel]] = {
        hub.catalog["lead_cards"].name: LeadCardReceived,
        hub.catalog["bit_scores"].name: BitScoreEvaluated,
        hub.catalog["gate_expiry"].name: WaitingLeadsExpiryDue,
    }
    spec = hub.catalog["lead_cards"]
    companies = hub.app.Table("gate-companies", partitions=spec.partitions)
    channel = hub.app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    policy = hub.settings.gate

    @hub.app.agent(channel, name="gate")
    async def gate(stream: Any) -> None:
        async for event in stream.events():
            msg = event.message
            source = SourceRef(msg.topic, msg.partition, msg.offset)
            now = hub.clock.now()
            try:
                parsed = inputs[msg.topic].model_validate(codec.loads(event.value))
            except (ValidationError, ValueError) as exc:
                log.warning("gate input dead-lettered topic=%s offset=%s", msg.topic, msg.offset)
                await carry_out(hub, dead_letter("gate", event.value, source, exc, now, STABLE_IDS))
                continue
            company = getattr(parsed, "company_sov_id", None) or getattr(parsed, "lead_id", "")
            key = company
            raw_state = companies.get(key)
            state = (
                CompanyGateState.model_validate(raw_state)
                if raw_state
                else CompanyGateState(company_sov_id=company)
            )
            decision = decide(state, parsed, now, policy, STABLE_IDS)  # type: ignore[arg-type]
            await carry_out(hub, decision)
            if decision.state is not state:
                companies[key] = decision.state.model_dump(mode="json")

    @hub.app.timer(hub.settings.gate_expiry_check_seconds)
    async def release_expired_waits() -> None:
        # Runs on every worker; the command is keyed by company, so only the partition's owner
        # acts on it, and the core ignores a command that finds nothing due (idempotent).
        now = hub.clock.now()
        expiry = hub.topic("gate_expiry")
        for key, raw_state in list(companies.items()):
            state = CompanyGateState.model_validate(raw_state)
            if state.waiting and expiry_due(state, now, policy):
                command = WaitingLeadsExpiryDue(company_sov_id=state.company_sov_id, issued_at=now)
                await expiry.send(key=key.encode(), value=codec.dumps(command))
