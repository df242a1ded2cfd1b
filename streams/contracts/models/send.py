"""Touches handed to a sender, and what the sender reports back."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from streams.contracts.models.base import AwareDatetime, HubEvent
from streams.contracts.models.merge_fields import MergeFields

Channel = Literal["email", "phone_task"]


class TouchRequested(HubEvent):
    """One due touch of one sequence for one contact. Senders dedupe on ``idempotency_key``."""

    aggregate_id: str
    sequence_id: str
    campaign_id: str | None = None
    company_sov_id: str | None = None
    contact_key: str
    touch_index: int = Field(ge=1)
    channel: Channel
    subject: str | None = None
    content_digest: str | None = None
    to_email: str | None = None
    due_at: AwareDatetime
    idempotency_key: str = Field(min_length=1)
    # What the sender merges into the touch's template (the person's, like to_email).
    merge_fields: MergeFields | None = None


class SendRecorded(HubEvent):
    aggregate_id: str
    contact_key: str
    company_sov_id: str | None = None
    campaign_id: str | None = None
    touch_index: int
    idempotency_key: str
    status: Literal["scheduled", "sent", "failed"]
    provider: str | None = None
    provider_message_id: str | None = None
    failure_reason: str | None = None
