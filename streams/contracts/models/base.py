"""Shared shape of every event the hub emits.

Every emitted event carries ``event_id`` (stable across retries: derived from the input that
caused it, never random), ``occurred_at``, ``correlation_id`` (inherited from the BIT
evaluation, or from the batch before a score is known) and a ``process_id`` of the SPEC §2
pattern ``outreach-execution-{campaign|sequence|send|engage}-{YYYYMMDD}-{8 hex}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

PROCESS_ID_PATTERN = r"^outreach-execution-(campaign|sequence|send|engage)-\d{8}-[0-9a-f]{8}$"

ProcessType = Literal["campaign", "sequence", "send", "engage"]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone (e.g. 2026-01-11T18:22:00Z)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Frozen(BaseModel):
    """Immutable value with a closed set of fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenRecord(BaseModel):
    """Immutable value that keeps fields it does not know (lead cards are stored verbatim)."""

    model_config = ConfigDict(frozen=True, extra="allow")


class HubEvent(Frozen):
    """Fields every event the hub emits carries (SPEC §2)."""

    event_id: str = Field(min_length=1)
    occurred_at: AwareDatetime
    correlation_id: str = Field(min_length=1)
    process_id: str = Field(pattern=PROCESS_ID_PATTERN)
