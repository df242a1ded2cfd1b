"""Gate thresholds and lifecycle order (SPEC §3 "BIT gate"): configuration with SPEC defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_LIFECYCLE_ORDER = ("UNKNOWN", "IDENTIFIED", "TARGETABLE", "ENGAGED", "QUALIFIED", "CLIENT")


class GatePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Score bands: [0, warm_from) SUSPECT, [warm_from, hot_from) WARM,
    # [hot_from, burning_from) HOT, [burning_from, 100] BURNING.
    warm_from: float = Field(default=25, description=(
        "BIT score from which a company is WARM (below: SUSPECT)"))
    # personal outreach needs at least this (seed 000, CRITICAL)
    hot_from: float = Field(default=50, description=(
        "BIT score from which a company is HOT: personal outreach needs at least this"))
    burning_from: float = Field(default=75, description=(
        "BIT score from which a company is BURNING (up to 100)"))
    lifecycle_order: tuple[str, ...] = Field(default=DEFAULT_LIFECYCLE_ORDER, description=(
        "the lead lifecycle stages, lowest first"))
    min_lifecycle: str = Field(default="TARGETABLE", description=(
        "the lowest lifecycle stage a lead may be contacted at (one of the order)"))
    max_wait_seconds: float = Field(default=3600, gt=0, description=(
        "how long a lead whose company has no score yet waits before it is released as "
        "BLOCKED"))
    remembered_leads_per_company: int = Field(default=200, ge=0, description=(
        "recent gated leads kept per company so that a newer score can re-gate them"))

    @model_validator(mode="after")
    def _ordered(self) -> GatePolicy:
        if not 0 <= self.warm_from <= self.hot_from <= self.burning_from <= 100:
            raise ValueError("gate thresholds must satisfy 0 <= warm <= hot <= burning <= 100")
        if self.min_lifecycle not in self.lifecycle_order:
            raise ValueError(f"min_lifecycle {self.min_lifecycle!r} is not in lifecycle_order")
        return self
