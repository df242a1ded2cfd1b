"""BIT Engine score evaluation: the input the gate joins lead cards with."""

from __future__ import annotations

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, OpenRecord


class BitScoreEvaluated(OpenRecord):
    company_sov_id: str = Field(min_length=1)
    outreach_id: str | None = None
    bit_score: float = Field(ge=0, le=100)
    bit_tier: str | None = None
    correlation_id: str = Field(min_length=1)
    lifecycle_state: str | None = None
    evaluated_at: AwareDatetime
