"""Gate thresholds and lifecycle order (SPEC §3 "BIT gate"): configuration with SPEC defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_LIFECYCLE_ORDER = ("UNKNOWN", "IDENTIFIED", "TARGETABLE", "ENGAGED", "QUALIFIED", "CLIENT")


class GatePolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Score bands: [0, warm_from) SUSPECT, [warm_from, hot_from) WARM,
    # [hot_from, burning_from) HOT, [burning_from, 100] BURNING.
    warm_from: float = 25
    hot_from: float = 50  # personal outreach needs at least this (seed 000, CRITICAL)
    burning_from: float = 75
    lifecycle_order: tuple[str, ...] = DEFAULT_LIFECYCLE_ORDER
    min_lifecycle: str = "TARGETABLE"
    # How long a lead whose company has no score yet waits before it is released as BLOCKED.
    max_wait_seconds: float = Field(default=3600, gt=0)
    # Recent gated leads kept per company so that a newer score can re-gate them.
    remembered_leads_per_company: int = Field(default=200, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> GatePolicy:
        if not 0 <= self.warm_from <= self.hot_from <= self.burning_from <= 100:
            raise ValueError("gate thresholds must satisfy 0 <= warm <= hot <= burning <= 100")
        if self.min_lifecycle not in self.lifecycle_order:
            raise ValueError(f"min_lifecycle {self.min_lifecycle!r} is not in lifecycle_order")
        return self
