"""What every pure core returns: the new state, the events to emit, and other effects as values.

The kernel's interpreter (streams/kernel/interpreter.py) carries them out; no core does I/O.
`Effect` is closed: the interpreter matches every variant (a new one is a mypy error there
until it is carried out), and a metric's name is a `CounterName` or a `GaugeName`, so a
misspelt metric is a type error rather than a crash of the agent that counts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

S = TypeVar("S")

# The Prometheus counters of streams/kernel/metrics.py, by the name cores count them under.
CounterName = Literal[
    "intake_batches_total",
    "intake_cards_total",
    "gate_verdicts_total",
    "gate_leads_waiting_total",
    "gate_scores_ignored_total",
    "dead_letters_total",
    "sink_rows_total",
    "sequencer_enrollments_total",
    "sequencer_touches_requested_total",
    "sequencer_touches_deferred_total",
    "sequencer_commands_refused_total",
    "sequencer_sequences_ended_total",
    "sequencer_webhook_events_total",
    "sender_requests_total",
    "engagement_events_total",
    "provider_events_total",
    "cl_signals_total",
    "campaign_health_observations_total",
    "campaign_health_verdicts_total",
    "events_emitted_total",
    "engagement_sends_total",
    "engagement_opens_total",
    "engagement_replies_total",
]

# The Prometheus gauges of streams/kernel/metrics.py, by the name cores set them under.
GaugeName = Literal["engagement_rate"]


@dataclass(frozen=True, slots=True)
class Emit:
    """Send ``event`` to the topic declared as ``topic`` (a topics.yaml alias) under ``key``
    (or, with ``partition`` and no key, to that partition: the sequencer's due-person nudges
    address a partition, not a person)."""

    topic: str
    key: str | None
    event: BaseModel
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class Count:
    """Increment the Prometheus counter ``metric`` with these label values."""

    metric: CounterName
    labels: tuple[tuple[str, str], ...] = ()
    amount: float = 1.0


@dataclass(frozen=True, slots=True)
class SetGauge:
    """Set the Prometheus gauge ``metric`` with these label values to ``value`` (of a batch's
    settings of one label set, the last is the one left)."""

    metric: GaugeName
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True, slots=True)
class ConsumeCap:
    """Count one email against today's mailbox and domain caps (the sequencer's caps table,
    per partition: the kernel adds the partition of the record that decided it)."""

    day: str
    mailbox: str
    domain: str


@dataclass(frozen=True, slots=True)
class ConsumeQuota:
    """Count one touch against its campaign's approved rates for this UTC hour and day (the
    sequencer's caps table, per partition as ConsumeCap)."""

    campaign_id: str
    hour: str
    day: str


@dataclass(frozen=True, slots=True)
class MarkInFlight:
    """Store the decision's state durably before anything else happens: the sender's marker
    that ``idempotency_key`` is being handed to the provider, so a worker that dies during the
    call finds it on restart and does not send the email twice."""

    idempotency_key: str


Effect = Count | SetGauge | ConsumeCap | ConsumeQuota | MarkInFlight


@dataclass(frozen=True, slots=True)
class Decision(Generic[S]):
    state: S
    emits: tuple[Emit, ...] = ()
    effects: tuple[Effect, ...] = field(default_factory=tuple)
