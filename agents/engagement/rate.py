"""ENGAGEMENT_RATE (SPEC §3): (opens + replies) / sends, per campaign, as a pure fold.

The stage folds every send report it handles and every engagement record it decides into a
`RateState` (`counted`), which adds to the decision a `SetGauge` of `rate_of(state, label)` for
each label the record moved: per worker, over the partitions it processes (the demo and
dashboards compute the cluster-wide figure from PostgreSQL).

Delivery is at least once, so a record can come twice (a redelivered batch after a
rebalance, an emit repeated after a crash): each is counted once, by its key (a send by its
idempotency key, one per touch; an engagement record by its event_id). The keys counted are
remembered in a bounded window, far wider than what a redelivery repeats (the records after
the last committed offset).

The label is the campaign, else the sequence definition the aggregate runs: aggregate ids are
``{sequence_id}:{contact_key}`` and a sequence id is ``{definition id}-{run}`` with one run per
enrollment (agents/sequencer/person.py), so the run is dropped to keep the label set bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from streams.contracts.decision import Count, CounterName, Decision, Effect, SetGauge
from streams.contracts.models.engagement import EngagementRecorded
from streams.contracts.models.send import SendRecorded

S = TypeVar("S")

ENGAGED = frozenset({"opened", "replied"})
# Counted keys are kept in chunks so adding one copies a chunk, not the whole window.
CHUNK = 256
CHUNKS = 16


@dataclass(frozen=True, slots=True)
class RateState:
    sends: Mapping[str, int] = field(default_factory=dict)
    engaged: Mapping[str, int] = field(default_factory=dict)
    counted: tuple[frozenset[str], ...] = ()  # keys of the records counted, recent last


def label_of(campaign_id: str | None, aggregate_id: str) -> str:
    """The gauge's campaign label: the campaign, else the aggregate's sequence definition."""
    return campaign_id or sequence_of(aggregate_id)


def rate(state: RateState, event: SendRecorded | EngagementRecorded) -> RateState:
    """``state`` with ``event`` counted (unchanged when it does not count or was counted)."""
    if isinstance(event, SendRecorded):
        if event.status != "sent":
            return state
        key, counts = f"send:{event.idempotency_key}", "sends"
    elif event.type in ENGAGED:
        key, counts = f"engaged:{event.event_id}", "engaged"
    else:
        return state
    if any(key in chunk for chunk in state.counted):
        return state
    label = label_of(event.campaign_id, event.aggregate_id)
    table = state.sends if counts == "sends" else state.engaged
    bumped = {**table, label: table.get(label, 0) + 1}
    counted = state.counted
    if counted and len(counted[-1]) < CHUNK:
        counted = (*counted[:-1], counted[-1] | {key})
    else:
        counted = (*counted, frozenset((key,)))[-CHUNKS:]
    if counts == "sends":
        return RateState(bumped, state.engaged, counted)
    return RateState(state.sends, bumped, counted)


def rate_of(state: RateState, label: str) -> float | None:
    """(opens + replies) / sends for ``label``; None before its first send."""
    sends = state.sends.get(label, 0)
    return state.engaged.get(label, 0) / sends if sends else None


def sequence_of(aggregate_id: str) -> str:
    """The sequence definition an aggregate runs (the enrollment's run dropped: bounded)."""
    return aggregate_id.rsplit(":", 1)[0].rsplit("-", 1)[0]


def term_counter(event: SendRecorded | EngagementRecorded) -> CounterName:
    """The counter a counted record adds to: a send, an open or a reply."""
    if isinstance(event, SendRecorded):
        return "engagement_sends_total"
    return "engagement_opens_total" if event.type == "opened" else "engagement_replies_total"


def counted(state: RateState, item: Any, decision: Decision[S]) -> tuple[RateState, Decision[S]]:
    """The fold over a decided input (a send report) and what its decision emits (engagement
    records), in that order; the decision carries the gauge settings of the labels moved and
    a count of each record counted (the rate's terms as counters, summed across workers)."""
    settings: list[Effect] = []
    for event in (item, *(emit.event for emit in decision.emits)):
        if not isinstance(event, SendRecorded | EngagementRecorded):
            continue
        before, state = state, rate(state, event)
        label = label_of(event.campaign_id, event.aggregate_id)
        value = rate_of(state, label)
        if state is not before:
            settings.append(Count(term_counter(event), (
                ("sequence_id", sequence_of(event.aggregate_id)),
                ("campaign", event.campaign_id or "none"))))
        if state is not before and value is not None:
            settings.append(SetGauge("engagement_rate", (("campaign", label),), value))
    if not settings:
        return state, decision
    return state, Decision(decision.state, decision.emits, (*decision.effects, *settings))
