"""`outreach-hub gate explain`: the verdict of one lead from JSON, with the agent's own rules."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agents.gate.policy import GatePolicy
from agents.gate.rules import gate_lead
from streams.contracts.exceptions import InvalidInput
from streams.contracts.models.bit_score import BitScoreEvaluated
from streams.contracts.models.gate import GateVerdict
from streams.contracts.models.lead_batch import LeadCard
from streams.contracts.records import describe


def explain(document: Any, policy: GatePolicy) -> GateVerdict:
    """Reads {"lead_card": {...}, "bit_score": {...} | null}; raises on anything else."""
    if not isinstance(document, dict) or "lead_card" not in document:
        raise InvalidInput(
            'expected a JSON object {"lead_card": {...}, "bit_score": {...} or null}'
        )
    unknown = set(document) - {"lead_card", "bit_score"}
    if unknown:
        raise InvalidInput(f"unexpected field(s): {', '.join(sorted(unknown))}")
    try:
        card = LeadCard.model_validate(document["lead_card"])
    except ValidationError as exc:
        raise InvalidInput(f"lead_card: {describe(exc)}") from exc
    raw_score = document.get("bit_score")
    try:
        score = BitScoreEvaluated.model_validate(raw_score) if raw_score is not None else None
    except ValidationError as exc:
        raise InvalidInput(f"bit_score: {describe(exc)}") from exc
    return gate_lead(
        card.enrichment,
        score.bit_score if score else None,
        policy,
        fallback_lifecycle=score.lifecycle_state if score else None,
    )
