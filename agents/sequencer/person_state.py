"""A person's sequencer state (the table's value) and what the person core needs besides it.

The state is one value per contact_key: the active sequence, a bounded history of ended ones,
the enrollments seen, the last contact and a suppression that never ages out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agents.sequencer.campaign_quota import CampaignRates
from agents.sequencer.definition import SequenceDefinition
from agents.sequencer.projection import SequenceProjection, UtcDatetime
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.decision import ConsumeCap as ConsumeCap  # the effect, re-exported
from streams.contracts.ids import IdFactory
from streams.contracts.models.base import Frozen
from streams.contracts.models.merge_fields import MergeFields
from streams.contracts.models.sequence import SequenceStatus


class SequenceAggregate(Frozen):
    aggregate_id: str
    sequence_id: str
    strategy: str
    enrollment_id: str
    campaign_id: str | None
    company_sov_id: str | None
    correlation_id: str
    to_email: str
    timezone: str | None
    projection: SequenceProjection
    next_due_at: UtcDatetime | None
    merge_fields: MergeFields | None = None  # for the templates of the touches it requests


class FinishedSequence(Frozen):
    aggregate_id: str
    status: SequenceStatus
    reason: str | None
    ended_at: UtcDatetime


class PersonState(Frozen):
    contact_key: str
    version: int = 0
    active: SequenceAggregate | None = None
    history: tuple[FinishedSequence, ...] = ()
    enrollments: tuple[str, ...] = ()
    last_contact_at: UtcDatetime | None = None
    # Why this person must not be contacted again (unsubscribed, complained, hard bounce,
    # meeting booked); kept apart from the bounded history so it never ages out.
    suppressed: str | None = None

    @property
    def next_due_at(self) -> datetime | None:
        return self.active.next_due_at if self.active else None


def _nothing_spent(key: str) -> int:
    return 0


def _no_status(campaign_id: str | None) -> str | None:
    return None


def approved_campaign(campaign_id: str | None) -> str | None:
    """A view in which every campaign is active: seed 002's harness decides a sequence step
    (its inputs name no campaign), and the campaign gate is the view's to apply, not the
    step's."""
    return "active"


def _no_rates(campaign_id: str | None) -> CampaignRates | None:
    return None


def _no_window(campaign_id: str | None) -> tuple[datetime | None, datetime | None] | None:
    return None


@dataclass(frozen=True, slots=True)
class SequencerContext:
    """What the person core reads besides the person. Lookups are functions the shell backs
    with its tables, so which counter or campaign to read stays the core's decision."""

    definitions: dict[str, SequenceDefinition]
    window: SendWindow
    caps: DailyCaps
    ids: IdFactory
    # A campaign's status (the campaign-status view); None: not heard of, or no campaign.
    campaign_status: Callable[[str | None], str | None] = _no_status
    # The approved activation window (start, end) of a campaign; None: none known (no limit).
    campaign_window: Callable[[str | None], tuple[datetime | None, datetime | None] | None] = (
        _no_window)
    # The approved rates of a campaign (sends per hour / day); None: none known (no limit).
    campaign_rates: Callable[[str | None], CampaignRates | None] = _no_rates
    # Emails counted so far today on a cap counter (agents/sequencer/caps.py `cap_keys`), or
    # touches on a campaign-rate counter (agents/sequencer/campaign_quota.py `quota_keys`).
    caps_spent: Callable[[str], int] = _nothing_spent
    partitions: int = 1
    partition: int = 0  # which share of the caps and rates this person's partition spends
    recheck_seconds: float = 3600.0
