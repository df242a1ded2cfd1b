"""Shared shape of every event the hub emits.

Every emitted event carries ``event_id`` (stable across retries: derived from the input that
caused it, never random), ``occurred_at``, ``correlation_id`` (inherited from the BIT
evaluation, or from the batch before a score is known) and a ``process_id`` of the SPEC §2
pattern ``outreach-execution-{campaign|sequence|send|engage}-{YYYYMMDD}-{8 hex}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

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


def untagged_as(tag: str) -> Any:
    """A topic union's before-validator: a record without a ``type`` is the union's `tag` (one
    item of a packed topic, written as before packing; an event written before its topic's
    tag existed). Assigned in the union's body: ``_tag_untyped = untagged_as("lead_gated")``."""

    def tag_untyped(data: Any) -> Any:
        if isinstance(data, dict) and "type" not in data:
            return {**data, "type": tag}
        return data

    return model_validator(mode="before")(tag_untyped)
