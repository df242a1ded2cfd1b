"""Sequencer commands (imperative) and the record of every sequence append (past tense)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent
from streams.contracts.models.gate import Strategy, Tier

SequenceStatus = Literal["active", "stopped", "completed", "failed"]


class EnrollContact(Frozen):
    """Start a sequence for one person, from an ALLOW gate verdict (keyed by contact_key)."""

    enrollment_id: str = Field(min_length=1)  # the gate verdict's event_id
    contact_key: str = Field(min_length=1)
    lead_id: str
    company_sov_id: str | None = None
    campaign_id: str | None = None
    strategy: Strategy
    tier: Tier | None = None
    to_email: str = Field(min_length=3)
    timezone: str | None = None
    correlation_id: str = Field(min_length=1)
    requested_at: AwareDatetime


class CheckDueTouches(Frozen):
    """The scheduler's nudge: decide this person's sequence now (idempotent; may find nothing)."""

    contact_key: str = Field(min_length=1)
    issued_at: AwareDatetime


class CheckDuePeople(Frozen):
    """The scheduler's nudge for many persons of one partition at once (sent to that
    partition): one record per partition and tick instead of one per person."""

    partition: int = Field(ge=0)
    contact_keys: tuple[str, ...] = Field(min_length=1)
    issued_at: AwareDatetime


class SequenceEventAppended(HubEvent):
    """One append to a sequence aggregate, as the durable record stores it."""

    aggregate_id: str
    version: int = Field(ge=1)
    idempotency_key: str
    type: str
    touch_index: int | None = None
    sequence_id: str
    campaign_id: str | None = None
    company_sov_id: str | None = None
    contact_key: str
    status: SequenceStatus
    current_touch_index: int = 0
    detail: dict[str, Any] = Field(default_factory=dict)
