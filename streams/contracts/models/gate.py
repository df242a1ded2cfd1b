"""The gate verdict per lead (SPEC §3 "BIT gate" and "Golden rule").

`outreach.gate.verdict` carries `LeadsGated`: the verdicts one gate decision sent to one
partition, packed (streams/contracts/packing.py says why). A record of a single `LeadGated` (as
written before verdicts were packed, with OUTREACH_ITEMS_PER_RECORD=1, and as tests and tools
may write) is read too: the topic's value is `GateVerdictRecord`, which tells them apart by
``type``; a single verdict is written without it, as before, and read as one verdict.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent, untagged_as
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
    """One lead's gate verdict."""

    # Not written: a single verdict's record is what it was before verdicts were packed, so a
    # worker of that version reads it (OUTREACH_ITEMS_PER_RECORD=1 during an upgrade).
    type: Literal["lead_gated"] = Field(default="lead_gated", exclude=True)
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


class LeadsGated(HubEvent):
    """Gate verdicts of one decision whose companies hash to one partition, in the order they
    were reached. Keyed by the first verdict's company; each verdict keeps its own event id,
    which is what every consumer deduplicates on."""

    type: Literal["leads_gated"] = "leads_gated"
    verdicts: tuple[LeadGated, ...] = Field(min_length=1)


AnyGateVerdictRecord = Annotated[LeadsGated | LeadGated, Field(discriminator="type")]


class GateVerdictRecord(RootModel[AnyGateVerdictRecord]):
    """The value of `outreach.gate.verdict`: packed verdicts, or one verdict."""

    model_config = ConfigDict(frozen=True)

    _tag_untyped = untagged_as("lead_gated")  # written before verdicts were packed

    @property
    def verdicts(self) -> tuple[LeadGated, ...]:
        """The record's verdicts, in order: a pack's, or the one."""
        return self.root.verdicts if isinstance(self.root, LeadsGated) else (self.root,)


class WaitingLeadsExpiryDue(Frozen):
    """Command to the gate (its own internal topic): release leads waited on past their bound."""

    company_sov_id: str
    issued_at: AwareDatetime
