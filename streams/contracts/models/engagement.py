"""Normalized provider events, engagement records and CL engagement signals.

`outreach.engagement.placement` carries `PlacementRecord`: placements packed by partition
(`MessagePlacements`, a batch of the engagement stage's at once: streams/contracts/packing.py
says why), or one `MessagePlacement`, written without a ``type`` as before packing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent, untagged_as

EngagementType = Literal[
    "delivered",
    "opened",
    "clicked",
    "replied",
    "auto_replied",
    "bounced",
    "complained",
    "unsubscribed",
    "meeting_booked",
]
SignalName = Literal["engaged", "replied", "meeting_booked", "unsubscribed", "bounced"]


class ProviderEventNormalized(Frozen):
    """The hub's own normalized form of one provider webhook event."""

    provider: str
    provider_event_id: str
    type: EngagementType
    bounce_kind: Literal["hard", "soft"] | None = None
    provider_message_id: str | None = None
    occurred_at: AwareDatetime
    aggregate_id: str | None = None
    idempotency_key: str | None = None
    # A meeting booked through the hub's signed calendar link carries that link back.
    calendar_link: str | None = None
    # Set by the hub when it routes the event to the person (from aggregate_id).
    contact_key: str | None = None


class EngagementRecorded(HubEvent):
    aggregate_id: str
    contact_key: str
    campaign_id: str | None = None
    company_sov_id: str | None = None
    provider: str
    provider_event_id: str
    type: EngagementType
    bounce_kind: Literal["hard", "soft"] | None = None
    provider_message_id: str | None = None
    # The touch the provider named (custom args): the sender settles an unknown outcome by it.
    idempotency_key: str | None = None


class EngagementSignalled(HubEvent):
    """What CL reads to decide lifecycle. The hub signals; CL decides."""

    company_sov_id: str
    signal: SignalName
    aggregate_id: str | None = None
    campaign_id: str | None = None


class PendingSignalsCheckDue(Frozen):
    """The engagement timer's nudge: raise OUT-004 for this person's long-held signals."""

    contact_key: str
    issued_at: AwareDatetime


class MessagePlacement(Frozen):
    """Routing by provider message id, keyed by it: either "message M is aggregate A's send"
    (from the hub's send records), or "this event about M waits to be placed", or (neither)
    the placement timer's nudge to expire what waited too long."""

    # Not written: a single placement's record is what it was before packing.
    type: Literal["message_placement"] = Field(default="message_placement", exclude=True)
    provider_message_id: str
    aggregate_id: str | None = None
    event: ProviderEventNormalized | None = None
    issued_at: AwareDatetime


class MessagePlacements(Frozen):
    """Placements whose message ids hash to one partition, in the order decided; keyed by the
    first one's message id."""

    type: Literal["message_placements"] = "message_placements"
    placements: tuple[MessagePlacement, ...] = Field(min_length=1)


AnyPlacementRecord = Annotated[MessagePlacements | MessagePlacement, Field(discriminator="type")]


class PlacementRecord(RootModel[AnyPlacementRecord]):
    """The value of `outreach.engagement.placement`: packed placements, or one."""

    model_config = ConfigDict(frozen=True)

    _tag_untyped = untagged_as("message_placement")  # written before packing

    @property
    def placements(self) -> tuple[MessagePlacement, ...]:
        """The record's placements, in order: a pack's, or the one."""
        root = self.root
        return root.placements if isinstance(root, MessagePlacements) else (root,)
