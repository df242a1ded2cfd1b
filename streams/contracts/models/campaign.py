"""Campaign commands (imperative) and what the campaign stage made of them (past tense).

SPEC §3 "Campaigns": seed 000's state machine under seed 004's governed launch. A command
proposes; the hub decides. `outreach.campaign.events` carries two events told apart by their
``type`` tag (`CampaignEvent`): every transition (`CampaignStateChanged`, versioned) and every
refused command (`CampaignCommandRejected`, with its reason: a command is never dropped
silently). Records written before the tag existed are transitions.

`outreach.campaign.commands` carries `CampaignCommandRecord`: one command, or the campaign
requests a batch of gate verdicts made for one partition, packed (`CampaignCommands`;
streams/contracts/packing.py says why).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel

from streams.contracts.models.base import AwareDatetime, Frozen, HubEvent, untagged_as
from streams.contracts.models.gate import Strategy, Tier

CampaignState = Literal[
    "requested",
    "draft",
    "scheduled",
    "active",
    "paused",
    "completed",
    "cancelled",
    "rejected",
    "expired",
    "failed",
]
# Operator / CRM commands, then the hub's own: `expire` (the draft TTL timer), `activate` (the
# same timer, when a scheduled campaign's window opens), `pause_for_health` (the health stage),
# `complete` / `fail` (the auditor).
CommandName = Literal[
    "request", "approve", "reject", "ask", "modify_scope", "pause", "resume", "cancel",
    "expire", "activate", "pause_for_health", "complete", "fail",
]
Eligibility = Literal["MAY", "MAY_NOT"]


class ApprovalTerms(Frozen):
    """What an approval binds (seed 004 step 6): the activation window, the execution
    constraints and the content approved. On a command the approver proposes them (unset ones
    take the hub's defaults); on an event they are the terms in force, with who and when."""

    window_start: AwareDatetime | None = None  # None: from the approval on
    window_end: AwareDatetime | None = None  # None: open-ended
    max_sends_per_hour: int | None = Field(default=None, ge=1)
    max_sends_per_day: int | None = Field(default=None, ge=1)
    content_digests: tuple[str, ...] = ()  # empty on a command: the draft's digests
    overrides_health_verdict_id: str | None = None  # lifts a health pause (only this does)
    approved_by: str | None = None  # set by the hub from the command's actor
    approved_at: AwareDatetime | None = None


class CampaignScope(Frozen):
    """A `modify_scope` proposal: what the new draft version changes (unset: unchanged)."""

    sequence_id: str | None = None
    content_digests: tuple[str, ...] | None = None
    max_audience: int | None = Field(default=None, ge=0)


class EligibilityVerdict(Frozen):
    """Seed 004 step 3: binary and deterministic, with the reasons."""

    verdict: Eligibility
    reasons: tuple[str, ...] = ()


class CampaignCommand(Frozen):
    """An operator's, CRM's or hub stage's command (key campaign_id). ``actor`` is
    ``operator:<name>``, ``policy:<name>``, ``system:gate``, ``system:health``,
    ``system:audit`` or ``system:ttl``."""

    # Not written: a command's record is what it was before the gate's requests were packed.
    type: Literal["campaign_command"] = Field(default="campaign_command", exclude=True)
    command_id: str = Field(min_length=1)
    command: CommandName
    campaign_id: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    issued_at: AwareDatetime
    company_sov_id: str | None = None
    tier: Tier | None = None
    reason: str | None = None
    correlation_id: str | None = None
    # Added with the governed launch; all optional, so older commands still read.
    strategy: Strategy | None = None  # request: the tier's strategy (from the gate verdict)
    sequence_id: str | None = None  # request: the sequence the draft will run
    approval: ApprovalTerms | None = None  # approve
    draft_version: int | None = Field(default=None, ge=1)  # approve: the draft version reviewed
    note: str | None = None  # ask (and any command): the reviewer's note
    scope: CampaignScope | None = None  # modify_scope
    health_verdict_id: str | None = None  # pause_for_health
    audit_verdict_id: str | None = None  # complete / fail
    audience: int | None = Field(default=None, ge=0)  # request: persons allowed so far


class CampaignCommands(Frozen):
    """Commands whose campaigns hash to one partition, in the order decided: the requests a
    batch of gate verdicts made (agents/campaigns/request_packing.py). Keyed by the first one's
    campaign; each keeps its own command id, which is what the campaign deduplicates on."""

    type: Literal["campaign_commands"] = "campaign_commands"
    commands: tuple[CampaignCommand, ...] = Field(min_length=1)


AnyCampaignCommandRecord = Annotated[CampaignCommands | CampaignCommand,
                                     Field(discriminator="type")]


class CampaignCommandRecord(RootModel[AnyCampaignCommandRecord]):
    """The value of `outreach.campaign.commands`: one command (as operators, the CRM and every
    stage but the gate's requests send them, without a ``type``), or packed requests."""

    model_config = ConfigDict(frozen=True)

    _tag_untyped = untagged_as("campaign_command")

    @property
    def commands(self) -> tuple[CampaignCommand, ...]:
        """The record's commands, in order: a pack's, or the one."""
        root = self.root
        return root.commands if isinstance(root, CampaignCommands) else (root,)


class CampaignStateChanged(HubEvent):
    """One transition (or, from -> same state, a recorded review step such as `ask`)."""

    type: Literal["state_changed"] = "state_changed"
    campaign_id: str
    version: int = Field(ge=1)
    from_state: CampaignState | None
    to_state: CampaignState
    actor: str
    reason: str | None = None
    expires_at: AwareDatetime | None = None
    # Added with the governed launch; all optional, so older events still read.
    command: CommandName | None = None
    command_id: str | None = None
    company_sov_id: str | None = None
    tier: Tier | None = None
    strategy: Strategy | None = None
    sequence_id: str | None = None
    draft_version: int | None = Field(default=None, ge=1)
    eligibility: EligibilityVerdict | None = None
    approval: ApprovalTerms | None = None  # the terms in force
    content_digests: tuple[str, ...] = ()  # of the draft's touches
    health_verdict_id: str | None = None
    audit_verdict_id: str | None = None
    audience: int | None = None
    note: str | None = None


class CampaignCommandRejected(HubEvent):
    """A command the campaign could not take, and why (its state stays as it was)."""

    type: Literal["command_rejected"] = "command_rejected"
    campaign_id: str
    command_id: str
    command: CommandName
    actor: str
    state: CampaignState | None  # None: the campaign does not exist
    version: int = Field(ge=0)  # the campaign's version when refused (0: none)
    code: str  # machine-readable, e.g. illegal_transition, stale_draft_version
    reason: str


AnyCampaignEvent = Annotated[
    CampaignStateChanged | CampaignCommandRejected, Field(discriminator="type")
]


class CampaignEvent(RootModel[AnyCampaignEvent]):
    """The value of `outreach.campaign.events`: a transition or a rejection, by ``type``."""

    model_config = ConfigDict(frozen=True)

    _tag_untyped = untagged_as("state_changed")  # written before rejections existed
