"""Health is authority (SPEC §3 "Campaigns"): a pure fold of sends and engagement per scope.

A scope is a campaign or a sending domain (the domain of the From address the sender puts on
the email; agents/campaigns/health_input.py says why that is the hub's sending domain). Its
state holds time-bucketed counts over a sliding window (hourly buckets over 7 days by default)
and the last verdict; every new piece of evidence re-evaluates the window, and a verdict is
emitted only when it changes:

- below `min_sends` sends in the window nothing is decided (the last verdict stands);
- complaint rate >= 0.1% or hard-bounce rate >= 5%: PAUSE (what Google, Yahoo and Amazon SES
  hold bulk senders to: SES reviews an account at 5% bounces / 0.1% complaints);
- else engagement rate ((opens + replies) / sends, as agents/engagement/rate.py counts it)
  below 30% (SPEC: healthy >= 30%): REVIEW, which flags and does not pause;
- else HEALTHY.

A domain's verdict reaches every campaign that sent from it within the window: the domain's
change is emitted once per such campaign, keyed by the campaign, so the campaign core reads one
kind of verdict and needs no map of domains. A campaign starting to send from a domain that is
already paused gets the domain's PAUSE at its first send.

Delivery is at least once: each observation is counted once, by its id, against a bounded
memory of the ids counted last (wider than what a redelivery repeats: the records after the
last committed offset). A verdict's id derives from the observation that changed it, so a
redelivered change re-emits the very same verdict.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.campaign_health import (
    CampaignHealthEvaluated,
    CampaignHealthObserved,
    HealthVerdict,
    ObservationKind,
)

KINDS: tuple[ObservationKind, ...] = ("send", "hard_bounce", "complaint", "open", "reply")
Tally = tuple[int, int, int, int, int]  # sends, hard bounces, complaints, opens, replies


class HealthPolicy(BaseModel):
    """Thresholds and window (OUTREACH_HEALTH_*).

    `min_sends` 200: two days of one mailbox at the default cap of 100 a day, so a campaign
    is judged early in its life; at 200 sends a 5% bounce rate is 10 hard bounces, not noise.
    The complaint threshold cannot be resolved below 1,000 sends, so until then any complaint
    pauses: one complaint in 200-999 sends is 0.1-0.5%, at or above what the mailbox providers
    tolerate, and a pause is undone by a person's new approval, a burnt domain is not.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_hours: int = Field(default=168, ge=1, description=(
        "the sliding window campaign and sending-domain health is judged over, hours"))
    bucket_minutes: int = Field(default=60, ge=1, le=1440, description=(
        "the window's bucket, minutes"))
    min_sends: int = Field(default=200, ge=1, description=(
        "sends in the window below which no health verdict is decided"))
    pause_complaint_rate: float = Field(default=0.001, gt=0, le=1, description=(
        "complaint rate at or above which the hub pauses a campaign (0.1%)"))
    pause_hard_bounce_rate: float = Field(default=0.05, gt=0, le=1, description=(
        "hard-bounce rate at or above which the hub pauses a campaign (5%)"))
    review_engagement_rate: float = Field(default=0.30, ge=0, le=1, description=(
        "engagement rate ((opens + replies) / sends) below which a campaign is flagged for "
        "review (not paused)"))
    # Observation ids remembered per scope to count each once (see the module docstring).
    dedupe_window: int = Field(default=1024, ge=1, description=(
        "observation ids remembered per campaign or domain to count each once"))

    @property
    def bucket(self) -> timedelta:
        return timedelta(minutes=self.bucket_minutes)

    @property
    def buckets(self) -> int:
        return max(1, self.window_hours * 60 // self.bucket_minutes)


class ScopeHealth(BaseModel):
    """One scope's window (oldest bucket first), the ids counted last and the verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    buckets: tuple[tuple[int, int, int, int, int, int], ...] = ()  # (index, *Tally)
    seen: tuple[str, ...] = ()
    verdict: HealthVerdict | None = None
    # A domain's campaigns: the last bucket each sent in, and the domain verdict it was told.
    campaigns: dict[str, tuple[int, HealthVerdict]] = Field(default_factory=dict)


class Evaluation(BaseModel):
    model_config = ConfigDict(frozen=True)

    window_start: datetime
    window_end: datetime
    tally: Tally
    bounce_rate: float
    complaint_rate: float
    engagement_rate: float
    verdict: HealthVerdict
    reasons: tuple[str, ...]


def bucket_of(at: datetime, policy: HealthPolicy) -> int:
    return int(at.timestamp() // policy.bucket.total_seconds())


def observe(state: ScopeHealth, obs: CampaignHealthObserved, now: datetime,
            policy: HealthPolicy) -> ScopeHealth | None:
    """`state` with `obs` counted and the buckets older than the window dropped; None when
    `obs` was counted before or is older than the window (nothing changes)."""
    digest = hashlib.sha256(obs.observation_id.encode()).hexdigest()[:16]
    oldest = bucket_of(now, policy) - policy.buckets + 1
    index = bucket_of(obs.occurred_at, policy)
    if digest in state.seen or index < oldest:
        return None
    counts = dict((b[0], b[1:]) for b in state.buckets if b[0] >= oldest)
    tally = list(counts.get(index, (0, 0, 0, 0, 0)))
    tally[KINDS.index(obs.kind)] += 1
    counts[index] = (tally[0], tally[1], tally[2], tally[3], tally[4])
    buckets = tuple((i, *counts[i]) for i in sorted(counts))
    seen = (*state.seen, digest)[-policy.dedupe_window:]
    campaigns = state.campaigns
    if obs.scope.startswith("domain:") and obs.campaign_id:
        # Campaigns that sent nothing within the window leave the domain's list.
        last, told = campaigns.get(obs.campaign_id, (index, "HEALTHY"))
        campaigns = {c: v for c, v in campaigns.items() if v[0] >= oldest}
        campaigns[obs.campaign_id] = (max(last, index), told)
    return ScopeHealth(buckets=buckets, seen=seen, verdict=state.verdict, campaigns=campaigns)


def window_tally(state: ScopeHealth, now: datetime, policy: HealthPolicy) -> Tally:
    """Sends, hard bounces, complaints, opens and replies within the window ending `now`."""
    oldest = bucket_of(now, policy) - policy.buckets + 1
    sums = [0, 0, 0, 0, 0]
    for bucket in state.buckets:
        if bucket[0] >= oldest:
            for k in range(5):
                sums[k] += bucket[k + 1]
    return sums[0], sums[1], sums[2], sums[3], sums[4]


def evaluate(state: ScopeHealth, now: datetime, policy: HealthPolicy) -> Evaluation | None:
    """The verdict over the window ending `now`; None below the minimum sample."""
    oldest = bucket_of(now, policy) - policy.buckets + 1
    sends, hard, complaints, opens, replies = window_tally(state, now, policy)
    if sends < policy.min_sends:
        return None
    bounce, complaint = hard / sends, complaints / sends
    engagement = (opens + replies) / sends
    reasons: list[str] = []
    if complaint >= policy.pause_complaint_rate:
        reasons.append(f"complaint rate {complaint:.2%} >= {policy.pause_complaint_rate:.2%}")
    if bounce >= policy.pause_hard_bounce_rate:
        reasons.append(f"hard-bounce rate {bounce:.2%} >= {policy.pause_hard_bounce_rate:.2%}")
    verdict: HealthVerdict = "PAUSE" if reasons else "HEALTHY"
    if not reasons and engagement < policy.review_engagement_rate:
        verdict = "REVIEW"
        reasons.append(
            f"engagement rate {engagement:.2%} < {policy.review_engagement_rate:.2%}")
    return Evaluation(
        window_start=datetime.fromtimestamp(oldest * policy.bucket.total_seconds(), UTC),
        window_end=now, tally=(sends, hard, complaints, opens, replies), bounce_rate=bounce,
        complaint_rate=complaint, engagement_rate=engagement, verdict=verdict,
        reasons=tuple(reasons))


def decide(state: ScopeHealth, obs: CampaignHealthObserved, now: datetime,
           policy: HealthPolicy, ids: IdFactory) -> Decision[ScopeHealth]:
    """Count `obs` for its scope and emit the verdicts that changed (module docstring)."""
    counted = observe(state, obs, now, policy)
    if counted is None:
        return Decision(state, (), (_count(obs.kind, "ignored"),))
    evaluation = evaluate(counted, now, policy)
    verdict = counted.verdict if evaluation is None else evaluation.verdict
    if obs.scope.startswith("domain:"):
        return _domain(counted, obs, evaluation, verdict, now, ids)
    after = counted.model_copy(update={"verdict": verdict})
    emits: tuple[Emit, ...] = ()
    if evaluation is not None and obs.campaign_id and verdict != state.verdict:
        emits = (_emit(obs, obs.campaign_id, evaluation, evaluation.reasons, now, ids),)
    return Decision(after, emits, (_count(obs.kind, "counted"), *_verdicts(emits, "campaign")))


def _domain(counted: ScopeHealth, obs: CampaignHealthObserved, evaluation: Evaluation | None,
            verdict: HealthVerdict | None, now: datetime, ids: IdFactory
            ) -> Decision[ScopeHealth]:
    """Tell every campaign of the domain whose last told verdict differs (HEALTHY until told
    otherwise: a healthy domain says nothing a campaign's own verdict does not)."""
    emits: list[Emit] = []
    campaigns = dict(counted.campaigns)
    if evaluation is not None and verdict is not None:
        why = tuple(f"sending domain {obs.sending_domain}: {r}" for r in evaluation.reasons)
        for campaign_id in sorted(campaigns):
            last, told = campaigns[campaign_id]
            if told != verdict:
                emits.append(_emit(obs, campaign_id, evaluation, why, now, ids))
                campaigns[campaign_id] = (last, verdict)
    after = counted.model_copy(update={"verdict": verdict, "campaigns": campaigns})
    return Decision(after, tuple(emits), (_count(obs.kind, "counted"), *_verdicts(emits, "domain")))


def _emit(obs: CampaignHealthObserved, campaign_id: str, ev: Evaluation,
          reasons: tuple[str, ...], now: datetime, ids: IdFactory) -> Emit:
    verdict_id = ids.event_id("campaign-health", obs.scope, campaign_id, ev.verdict,
                              obs.observation_id)
    sends, hard, complaints, opens, replies = ev.tally
    event = CampaignHealthEvaluated(
        event_id=verdict_id, occurred_at=now, correlation_id=obs.correlation_id,
        process_id=ids.process_id("campaign", obs.occurred_at, campaign_id),
        verdict_id=verdict_id, campaign_id=campaign_id, sending_domain=obs.sending_domain,
        scope="domain" if obs.scope.startswith("domain:") else "campaign",
        window_start=ev.window_start, window_end=ev.window_end, sends=sends,
        hard_bounces=hard, complaints=complaints, opens=opens, replies=replies,
        bounce_rate=ev.bounce_rate, complaint_rate=ev.complaint_rate,
        engagement_rate=ev.engagement_rate, verdict=ev.verdict, reasons=reasons,
        evaluated_at=now)
    return Emit("campaign_health", campaign_id, event)


def _count(kind: str, outcome: str) -> Count:
    return Count("campaign_health_observations_total", (("kind", kind), ("outcome", outcome)))


def _verdicts(emits: tuple[Emit, ...] | list[Emit], scope: str) -> tuple[Count, ...]:
    return tuple(
        Count("campaign_health_verdicts_total",
              (("verdict", e.event.verdict), ("scope", scope)))  # type: ignore[attr-defined]
        for e in emits)
