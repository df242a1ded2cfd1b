"""The audit of one campaign (SPEC §3 "Campaigns", seed 004): did every send keep the rules?

Pure: `audit(record, now, ids)` is what the worker's auditor and `outreach-hub campaigns audit`
run. Each rule is a function named after it that returns the offending ids (idempotency keys of
sends, never an address); a rule with none is kept.

Which time a rule reads: where and how fast mail went out (window, rates, caps, suppression at
the sender) is judged on ``sent_at``; what the sequencer decided (a touch after a stop, the
cooling-off between sequences) on ``requested_at``, since a provider's delay is no decision.
Rates and caps count per UTC hour and UTC day: a bucketed limit is what a sender can enforce
without a shared clock, and a sliding count would fail sends that kept it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from agents.campaigns.audit_input import STOP_TYPES, CampaignRecord, SendRow
from streams.contracts.decision import Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.campaign import CampaignCommand, CommandName
from streams.contracts.models.campaign_audit import AuditFinding, AuditVerdict, CampaignAudited
from streams.contracts.models.errors import SEVERITY, AuditCode, OutreachErrorRaised

SAMPLE_SIZE = 5

# Rule names, as findings and the CLI name them.
NOT_ENROLLED = "not_enrolled"
SUPPRESSED = "suppressed"
AFTER_STOP = "after_stop"
COOLING_OFF = "cooling_off"
DAILY_CAP = "daily_cap"
OUTSIDE_WINDOW = "outside_window"
HOURLY_RATE = "hourly_rate"
DAILY_RATE = "daily_rate"
CONTENT_NOT_APPROVED = "content_not_approved"
# Uncheckable: the audit cannot say PASS.
APPROVAL_MISSING = "approval_missing"
SEND_RESULT_MISSING = "send_result_missing"


def _sent(record: CampaignRecord) -> list[SendRow]:
    """The campaign's sends that went out, in the order they did."""
    rows = [s for s in record.sends if s.status == "sent" and s.sent_at is not None]
    return sorted(rows, key=lambda s: (s.sent_at, s.idempotency_key))


def not_enrolled(record: CampaignRecord) -> list[str]:
    """Sends of an aggregate that is not one of this campaign's enrolled persons."""
    enrolled = {(e.aggregate_id, e.contact_key) for e in record.enrolled}
    return [s.idempotency_key for s in _sent(record)
            if (s.aggregate_id, s.contact_key) not in enrolled]


def suppressed(record: CampaignRecord) -> list[str]:
    """Sends decided for a person already suppressed (by any campaign) when the hub knew it.

    Like `after_stop`: where the hub stopped this campaign's sequence of that person at or
    after the suppressing signal, its stop is when it knew; a touch decided before that and
    delivered after is in flight, not a breach. Without such a stop, the signal's time counts."""
    since: dict[str, datetime] = {}
    for row in record.suppressions:
        since[row.contact_key] = min(row.since, since.get(row.contact_key, row.since))
    contact_of = {e.aggregate_id: e.contact_key for e in record.enrolled}
    hub_stops: dict[str, datetime] = {}
    for stop in record.stops:
        contact = contact_of.get(stop.aggregate_id)
        if (stop.type == "sequence_stopped" and contact is not None and contact in since
                and stop.occurred_at >= since[contact]):
            hub_stops[contact] = min(stop.occurred_at, hub_stops.get(contact, stop.occurred_at))
    knew = since | hub_stops
    return [s.idempotency_key for s in _sent(record)
            if s.contact_key in knew and s.decided_at is not None
            and s.decided_at >= knew[s.contact_key]]


def after_stop(record: CampaignRecord) -> list[str]:
    """Touches decided after the hub had stopped their sequence.

    The sequencer's own `sequence_stopped` is when the hub knew; a touch decided between a
    reply's occurring at the provider and its reaching the hub is the in-flight race no sender
    can close, not a breach. Where the hub recorded no stop at all for a stop signal, every
    touch decided after the signal occurred is one."""
    hub_stop: dict[str, datetime] = {}
    signal: dict[str, datetime] = {}
    for row in record.stops:
        if row.type not in STOP_TYPES:
            continue
        held = hub_stop if row.type == "sequence_stopped" else signal
        held[row.aggregate_id] = min(row.occurred_at, held.get(row.aggregate_id, row.occurred_at))
    stopped = signal | hub_stop
    out = []
    for s in _sent(record):
        at = s.decided_at
        if s.aggregate_id in stopped and at is not None and at > stopped[s.aggregate_id]:
            out.append(s.idempotency_key)
    return out


def cooling_off(record: CampaignRecord) -> list[str]:
    """Touches decided sooner than ``cooling_off_days`` after the person's contact by another
    sequence (this campaign's or another's), when that contact was the person's latest."""
    gap = timedelta(days=record.limits.cooling_off_days)
    if not gap:
        return []
    mine = {s.idempotency_key for s in record.sends}
    by_person: dict[str, list[SendRow]] = defaultdict(list)
    for s in (*record.sends, *record.other_sends):
        if s.status != "failed" and s.decided_at is not None:
            by_person[s.contact_key].append(s)
    out = []
    for rows in by_person.values():
        rows.sort(key=lambda s: (s.decided_at, s.idempotency_key))
        for before, after in pairwise(rows):
            if (after.idempotency_key in mine and after.status == "sent"
                    and before.aggregate_id != after.aggregate_id
                    and after.decided_at - before.decided_at < gap):  # type: ignore[operator]
                out.append(after.idempotency_key)
    return out


def _over(sends: Iterable[SendRow], bucket: Callable[[datetime], object], limit: int) -> list[str]:
    """Sends beyond ``limit`` in their bucket, in the order they were decided. The hub keeps
    its caps and rates when it requests a touch, so the bucket is the decision's: a touch
    requested at :59:59 and delivered at :00:01 spent the earlier hour."""
    counts: dict[object, int] = defaultdict(int)
    out = []
    for s in sorted(sends, key=lambda s: (s.decided_at, s.idempotency_key)):
        assert s.decided_at is not None
        key = bucket(s.decided_at)
        counts[key] += 1
        if counts[key] > limit:
            out.append(s.idempotency_key)
    return out


def _utc_day(at: datetime) -> object:
    return at.astimezone(UTC).date()


def _utc_hour(at: datetime) -> object:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def daily_cap(record: CampaignRecord) -> list[str]:
    """Sends beyond the hub's daily caps. A campaign is one company's, so its persons share one
    recipient domain and one sending mailbox: its own sends of a UTC day may not pass the lower
    cap (a necessary condition; other campaigns' sends spend the same caps)."""
    limit = min(record.limits.cap_per_mailbox, record.limits.cap_per_domain)
    return _over(_sent(record), _utc_day, limit)


def outside_window(record: CampaignRecord) -> list[str]:
    """Sends before the approved activation window opened or after it closed."""
    terms = record.terms
    if terms is None:
        return []
    return [s.idempotency_key for s in _sent(record)
            if s.sent_at is not None and (
                (terms.window_start is not None and s.sent_at < terms.window_start)
                or (terms.window_end is not None and s.sent_at >= terms.window_end))]


def hourly_rate(record: CampaignRecord) -> list[str]:
    terms = record.terms
    if terms is None or terms.max_sends_per_hour is None:
        return []
    return _over(_sent(record), _utc_hour, terms.max_sends_per_hour)


def daily_rate(record: CampaignRecord) -> list[str]:
    terms = record.terms
    if terms is None or terms.max_sends_per_day is None:
        return []
    return _over(_sent(record), _utc_day, terms.max_sends_per_day)


def content_not_approved(record: CampaignRecord) -> list[str]:
    """Sends whose content digest is not among the approved ones (a missing digest is not)."""
    terms = record.terms
    if terms is None:
        return []
    approved = set(terms.content_digests)
    return [s.idempotency_key for s in _sent(record) if s.content_digest not in approved]


def approval_missing(record: CampaignRecord) -> list[str]:
    return [record.campaign_id] if record.terms is None else []


def send_result_missing(record: CampaignRecord) -> list[str]:
    """Touches requested whose sender never reported (the audit cannot judge them)."""
    return sorted(s.idempotency_key for s in record.sends if s.status == "scheduled")


RULES: tuple[tuple[str, Callable[[CampaignRecord], list[str]]], ...] = (
    (NOT_ENROLLED, not_enrolled),
    (SUPPRESSED, suppressed),
    (AFTER_STOP, after_stop),
    (COOLING_OFF, cooling_off),
    (DAILY_CAP, daily_cap),
    (OUTSIDE_WINDOW, outside_window),
    (HOURLY_RATE, hourly_rate),
    (DAILY_RATE, daily_rate),
    (CONTENT_NOT_APPROVED, content_not_approved),
)
UNCHECKABLE: tuple[tuple[str, Callable[[CampaignRecord], list[str]]], ...] = (
    (APPROVAL_MISSING, approval_missing),
    (SEND_RESULT_MISSING, send_result_missing),
)


def findings(record: CampaignRecord) -> tuple[tuple[AuditFinding, ...], AuditVerdict]:
    """Every rule's findings and the verdict they make: a broken rule FAILs whatever else is
    unknown; otherwise anything uncheckable makes it INCONCLUSIVE."""
    broken = [_finding(name, rule(record)) for name, rule in RULES]
    unknown = [_finding(name, rule(record)) for name, rule in UNCHECKABLE]
    failed = tuple(f for f in broken if f is not None)
    open_ = tuple(f for f in unknown if f is not None)
    verdict: AuditVerdict = "FAIL" if failed else "INCONCLUSIVE" if open_ else "PASS"
    return failed + open_, verdict


def _finding(rule: str, ids: list[str]) -> AuditFinding | None:
    if not ids:
        return None
    unique = list(dict.fromkeys(ids))
    return AuditFinding(rule=rule, count=len(unique), sample_ids=tuple(unique[:SAMPLE_SIZE]))


def audit(record: CampaignRecord, now: datetime, ids: IdFactory,
          correlation_id: str | None = None) -> CampaignAudited:
    """The verdict on ``record``. Its id derives from what was judged, so auditing the same
    record twice (two workers, a redelivery) yields one verdict, and a changed record a new one."""
    found, verdict = findings(record)
    fingerprint = record_fingerprint(record)
    verdict_id = ids.event_id("campaign-audited", record.campaign_id, fingerprint)
    return CampaignAudited(
        event_id=verdict_id, occurred_at=now,
        correlation_id=correlation_id or f"campaign:{record.campaign_id}",
        process_id=ids.process_id("campaign", now, record.campaign_id),
        verdict_id=verdict_id, campaign_id=record.campaign_id, verdict=verdict,
        findings=found, audited_at=now)


def record_fingerprint(record: CampaignRecord) -> str:
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()[:16]


def consequences(verdict: CampaignAudited, ids: IdFactory
                 ) -> tuple[CampaignCommand | None, OutreachErrorRaised | None]:
    """What a verdict sets off: PASS completes the campaign; FAIL fails it and raises an
    incident; INCONCLUSIVE raises an escalation and leaves the campaign as it is."""
    command = None
    if verdict.verdict != "INCONCLUSIVE":
        name: CommandName = "complete" if verdict.verdict == "PASS" else "fail"
        command = CampaignCommand(
            command_id=ids.event_id("audit-command", verdict.verdict_id), command=name,
            campaign_id=verdict.campaign_id, actor="system:audit", issued_at=verdict.audited_at,
            reason=_summary(verdict), correlation_id=verdict.correlation_id,
            audit_verdict_id=verdict.verdict_id)
    if verdict.verdict == "PASS":
        return command, None
    code: AuditCode = "AUDIT-FAILED" if verdict.verdict == "FAIL" else "AUDIT-INCONCLUSIVE"
    incident = OutreachErrorRaised(
        event_id=ids.event_id("audit-incident", verdict.verdict_id),
        occurred_at=verdict.audited_at, correlation_id=verdict.correlation_id,
        process_id=verdict.process_id, code=code, severity=SEVERITY[code], stage="campaign-audit",
        reason=_summary(verdict), subject_id=verdict.campaign_id,
        record=verdict.model_dump(mode="json"))
    return command, incident


def _summary(verdict: CampaignAudited) -> str:
    found = ", ".join(f"{f.rule} x{f.count}" for f in verdict.findings)
    return f"audit {verdict.verdict}" + (f": {found}" if found else "")


def verdict_emits(verdict: CampaignAudited, ids: IdFactory) -> tuple[Emit, ...]:
    """The verdict on outreach.audit and what it sets off: the campaign's command (complete /
    fail, by system:audit) and the incident or escalation on the errors topic."""
    command, incident = consequences(verdict, ids)
    emits = [Emit("audit", verdict.campaign_id, verdict)]
    if command is not None:
        emits.append(Emit("campaign_commands", verdict.campaign_id, command))
    if incident is not None:
        emits.append(Emit("errors", verdict.campaign_id, incident))
    return tuple(emits)
