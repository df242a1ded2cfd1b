"""Sequencer commands (imperative) and the record of every sequence append (past tense).

`outreach.sequence.commands` carries four commands, told apart by their ``type`` tag (a
pydantic discriminated union, `SequenceCommand`). Records written before the tag existed are
still read: `SequenceCommand` fills a missing tag from the fields only that command has (the
upgrade path; it can go once every such record is past the topic's 7-day retention).

Enrollments travel packed (`EnrollContacts`): those one record of verdicts gave, per partition
(streams/contracts/packing.py says why). One enrollment alone is written as `EnrollContact`, as
before packing, so OUTREACH_ITEMS_PER_RECORD=1 writes only what an older worker reads.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, RootModel, model_validator

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent
from streams.contracts.models.gate import Strategy, Tier
from streams.contracts.models.merge_fields import MergeFields

SequenceStatus = Literal["active", "stopped", "completed", "failed"]


class EnrollContact(Frozen):
    """Start a sequence for one person, from an ALLOW gate verdict (keyed by contact_key)."""

    type: Literal["enroll_contact"] = "enroll_contact"
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
    # The person's name, title and company for the touches' templates (from the verdict).
    merge_fields: MergeFields | None = None


class EnrollContacts(Frozen):
    """Enrollments whose persons hash to one partition, in the order their verdicts were
    reached. Keyed by the first one's contact key; each keeps its own enrollment id, which is
    what the sequencer deduplicates on."""

    type: Literal["enroll_contacts"] = "enroll_contacts"
    enrollments: tuple[EnrollContact, ...] = Field(min_length=1)


class CheckDueTouches(Frozen):
    """The scheduler's nudge: decide this person's sequence now (idempotent; may find nothing)."""

    type: Literal["check_due_touches"] = "check_due_touches"
    contact_key: str = Field(min_length=1)
    issued_at: AwareDatetime
    # A compare-and-set (seed 002): decide only if the person's active aggregate is this one, at
    # this version (and, if given, with this last touch); the step's append takes this key.
    # A stale or mismatched command is refused and counted, and raises SEQ-ESCALATED.
    aggregate_id: str | None = Field(default=None, min_length=1)
    expected_version: int | None = Field(default=None, ge=0)
    current_touch_index: int | None = Field(default=None, ge=0)
    idempotency_key: str | None = Field(default=None, min_length=1)


class CheckDuePeople(Frozen):
    """The scheduler's nudge for many persons of one partition at once (sent to that
    partition): one record per partition and tick instead of one per person. Keyed by its first
    contact key: every key of one nudge hashes to the partition it is sent to."""

    type: Literal["check_due_people"] = "check_due_people"
    partition: int = Field(ge=0)
    contact_keys: tuple[str, ...] = Field(min_length=1)
    issued_at: AwareDatetime


AnyCommand = Annotated[
    EnrollContact | EnrollContacts | CheckDueTouches | CheckDuePeople,
    Field(discriminator="type"),
]


class SequenceCommand(RootModel[AnyCommand]):
    """The value of `outreach.sequence.commands`: one of the commands, by its ``type``."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _tag_untyped(cls, data: Any) -> Any:
        # Upgrade path: a record produced before commands carried a type is recognised by the
        # fields only its command has (as the sequencer told them apart then).
        if isinstance(data, dict) and "type" not in data:
            if "enrollment_id" in data:
                return {**data, "type": "enroll_contact"}
            return {**data, "type": "check_due_people" if "contact_keys" in data
                    else "check_due_touches"}
        return data

    @property
    def enrollments(self) -> tuple[EnrollContact, ...]:
        """The record's enrollments, in order: a pack's, the one, or none (a nudge)."""
        root = self.root
        if isinstance(root, EnrollContacts):
            return root.enrollments
        return (root,) if isinstance(root, EnrollContact) else ()


def command_key(command: AnyCommand) -> str:
    """The record key of a command (topics.yaml: contact_key)."""
    if isinstance(command, CheckDuePeople):
        return command.contact_keys[0]
    if isinstance(command, EnrollContacts):
        return command.enrollments[0].contact_key
    return command.contact_key


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
