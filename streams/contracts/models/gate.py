"""The gate verdict per lead (SPEC §3 "BIT gate" and "Golden rule")."""

from __future__ import annotations

from typing import Literal

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent
from streams.contracts.models.lead_batch import Contact

Verdict = Literal["ALLOW", "CONTENT_ONLY", "DO_NOT_CONTACT", "BLOCKED"]
Tier = Literal["SUSPECT", "WARM", "HOT", "BURNING"]
Strategy = Literal["PERSONALIZED_EMAIL", "PHONE_AND_EMAIL", "NEWSLETTER_CONTENT"]
GateErrorCode = Literal["OUT-001", "OUT-002"]


class GateVerdict(Frozen):
    """The pure outcome of gating one lead; `gate explain` prints exactly this."""

    verdict: Verdict
    tier: Tier | None
    strategy: Strategy | None
    reasons: tuple[str, ...]
    error_code: GateErrorCode | None


class LeadGated(HubEvent):
    lead_id: str
    batch_id: str
    company_sov_id: str | None
    bit_score: float | None
    score_evaluated_at: AwareDatetime | None
    verdict: Verdict
    tier: Tier | None
    strategy: Strategy | None
    reasons: tuple[str, ...]
    error_code: GateErrorCode | None
    # What a later stage needs to reach the person; never logged.
    company_name: str | None = None
    domain: str | None = None
    contact: Contact | None = None


class WaitingLeadsExpiryDue(Frozen):
    """Command to the gate (its own internal topic): release leads waited on past their bound."""

    company_sov_id: str
    issued_at: AwareDatetime
