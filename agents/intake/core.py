"""Intake as pure functions: raw batch bytes -> audit row, stored cards, forwards, dead letters.

`read_batch` parses and validates the envelope (or returns the dead-letter decision);
`decide` applies a parsed batch given what the hub remembers of that batch_id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.base import AwareDatetime, Frozen
from streams.contracts.models.errors import SEVERITY, DeadLetterCode, OutreachErrorRaised
from streams.contracts.models.intake import BatchAudited, CardDisposition, LeadCardReceived
from streams.contracts.models.lead_batch import LeadBatchEnvelope, LeadCard
from streams.contracts.records import SourceRef, bounded_record, describe

ACCEPTED_SCHEMA_VERSIONS: tuple[str, ...] = ("v1", "v2")  # v1, and the next major (seed 003 §7)

NOT_FORWARDED: dict[str, tuple[CardDisposition, str]] = {
    "REQUESTED": ("AWAITING_ENRICHMENT", "enrichment_pending"),
    "NONE": ("NOT_EXECUTABLE", "enrichment_none"),
    "FAILED": ("NOT_EXECUTABLE", "enrichment_failed"),
}


class SeenBatch(Frozen):
    """What intake remembers of a batch_id it has processed (its Faust table value)."""

    checksum: str
    status: str
    received_at: AwareDatetime


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    envelope: LeadBatchEnvelope
    checksum: str


IntakeDecision = Decision[SeenBatch | None]


def checksum_of(document: Any) -> str:
    """sha256 of the canonical JSON (sorted keys): the same batch re-serialized hashes the same."""
    return (
        "sha256:" + hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
    )


def read_batch(
    raw: bytes,
    source: SourceRef,
    now: datetime,
    ids: IdFactory,
    accepted_versions: tuple[str, ...] = ACCEPTED_SCHEMA_VERSIONS,
) -> ParsedBatch | IntakeDecision:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        text = raw[:2000].decode("utf-8", "replace")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        return _rejected(
            None, None, digest, "DLQ-MALFORMED", f"not valid JSON: {exc}", text, source, now, ids
        )
    checksum = checksum_of(document)
    kept = bounded_record(document, len(raw), checksum)  # what a dead letter may carry
    batch_id = document.get("batch_id") if isinstance(document, dict) else None
    batch_id = batch_id if isinstance(batch_id, str) and batch_id else None
    version = document.get("schema_version") if isinstance(document, dict) else None
    if (
        isinstance(document, dict)
        and "schema_version" in document
        and (version not in accepted_versions)
    ):
        reason = (
            f"unsupported schema_version {version!r}; this hub accepts "
            f"{', '.join(accepted_versions)}"
        )
        return _rejected(
            batch_id,
            None if version is None else str(version),
            checksum,
            "DLQ-SCHEMA-VERSION",
            reason,
            kept,
            source,
            now,
            ids,
        )
    try:
        envelope = LeadBatchEnvelope.model_validate(document)
    except ValidationError as exc:
        return _rejected(
            batch_id,
            None,
            checksum,
            "DLQ-MALFORMED",
            f"invalid batch envelope: {describe(exc)}",
            kept,
            source,
            now,
            ids,
        )
    return ParsedBatch(envelope, checksum)


def decide(
    seen: SeenBatch | None, batch: ParsedBatch, source: SourceRef, now: datetime, ids: IdFactory
) -> IntakeDecision:
    env = batch.envelope
    if seen is not None and seen.checksum == batch.checksum:
        return Decision(seen, effects=(Count("intake_batches_total", (("outcome", "duplicate"),)),))
    if seen is not None:
        conflict = (
            f"batch_id {env.batch_id!r} was processed before with checksum {seen.checksum}; "
            "this copy differs and is not processed"
        )
        rejected = _rejected(
            env.batch_id,
            env.schema_version,
            batch.checksum,
            "DLQ-BATCH-CONFLICT",
            conflict,
            None,
            source,
            now,
            ids,
        )
        return Decision(seen, rejected.emits, rejected.effects)

    process_id = ids.process_id("campaign", env.created_at, env.batch_id)
    correlation = f"batch:{env.batch_id}"
    emits: list[Emit] = []
    effects: list[Count] = []
    forwarded = not_forwarded = rejected_cards = 0
    problems: list[str] = []
    lead_ids: set[str] = set()
    for position, record in enumerate(env.records):
        card, problem = _read_card(record, position, lead_ids)
        if card is None:
            rejected_cards += 1
            problems.append(problem)
            emits.append(
                Emit(
                    "errors",
                    env.batch_id,
                    OutreachErrorRaised(
                        event_id=ids.event_id(
                            "invalid-card", env.batch_id, batch.checksum, position
                        ),
                        occurred_at=now,
                        correlation_id=correlation,
                        process_id=process_id,
                        code="DLQ-INVALID-CARD",
                        severity=SEVERITY["DLQ-INVALID-CARD"],
                        stage="intake",
                        reason=problem,
                        source_topic=source.topic,
                        source_partition=source.partition,
                        source_offset=source.offset,
                        subject_id=env.batch_id,
                        record=bounded_record(record, len(orjson.dumps(record)),
                                              checksum_of(record)),
                    ),
                )
            )
            effects.append(Count("intake_cards_total", (("disposition", "REJECTED"),)))
            effects.append(
                Count("dead_letters_total", (("stage", "intake"), ("code", "DLQ-INVALID-CARD")))
            )
            continue
        disposition, why = NOT_FORWARDED.get(card.enrichment_status, ("FORWARDED", None))
        if disposition == "FORWARDED":
            forwarded += 1
        else:
            not_forwarded += 1
        company = card.enrichment.company_sov_id if card.enrichment else None
        emits.append(
            Emit(
                "lead_cards",
                company or card.lead_id,
                LeadCardReceived(
                    event_id=ids.event_id("lead-card", env.batch_id, card.lead_id),
                    occurred_at=now,
                    correlation_id=correlation,
                    process_id=process_id,
                    batch_id=env.batch_id,
                    schema_version=env.schema_version,
                    lead_id=card.lead_id,
                    company_sov_id=company,
                    enrichment_status=card.enrichment_status,
                    disposition=disposition,
                    reason=why,
                    checksum=checksum_of(record),
                    card=record,
                ),
            )
        )
        effects.append(Count("intake_cards_total", (("disposition", disposition),)))

    status = "failure" if rejected_cards else "success"
    reason: str | None = None
    if problems:
        reason = f"{rejected_cards} of {len(env.records)} cards failed validation: {problems[0]}"
    emits.append(
        Emit(
            "audit",
            env.batch_id,
            BatchAudited(
                event_id=ids.event_id("batch-audited", env.batch_id, batch.checksum),
                occurred_at=now,
                correlation_id=correlation,
                process_id=process_id,
                batch_id=env.batch_id,
                schema_version=env.schema_version,
                target=env.target,
                received_at=now,
                checksum=batch.checksum,
                status=status,
                reason=reason,
                cards_total=len(env.records),
                cards_forwarded=forwarded,
                cards_not_forwarded=not_forwarded,
                cards_rejected=rejected_cards,
            ),
        )
    )
    effects.append(Count("intake_batches_total", (("outcome", status),)))
    remembered = SeenBatch(checksum=batch.checksum, status=status, received_at=now)
    return Decision(remembered, tuple(emits), tuple(effects))


def _read_card(record: Any, position: int, lead_ids: set[str]) -> tuple[LeadCard | None, str]:
    """The card, or why it cannot be one (the reason names fields, never their values)."""
    lead_id = record.get("lead_id") if isinstance(record, dict) else None
    label = f"lead card #{position} ({lead_id if isinstance(lead_id, str) else 'no lead_id'})"
    if not isinstance(record, dict):
        return None, f"{label} invalid: a lead card must be a JSON object"
    try:
        card = LeadCard.model_validate(record)
    except ValidationError as exc:
        return None, f"{label} invalid: {describe(exc)}"
    if card.lead_id in lead_ids:
        return None, f"{label} invalid: lead_id appears twice in this batch"
    lead_ids.add(card.lead_id)
    return card, ""


def _rejected(
    batch_id: str | None,
    version: str | None,
    checksum: str,
    code: DeadLetterCode,
    reason: str,
    record: Any,
    source: SourceRef,
    now: datetime,
    ids: IdFactory,
) -> IntakeDecision:
    """A whole record that cannot be processed: dead letter plus a failed audit row."""
    subject = batch_id or f"{source.topic}/{source.partition}/{source.offset}"
    process_id = ids.process_id("campaign", now, subject, checksum)
    correlation = f"batch:{subject}"
    dead_letter = OutreachErrorRaised(
        event_id=ids.event_id("dead-letter", source.topic, source.partition, source.offset),
        occurred_at=now,
        correlation_id=correlation,
        process_id=process_id,
        code=code,
        severity=SEVERITY[code],
        stage="intake",
        reason=reason,
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        subject_id=subject,
        record=record,
    )
    audit = BatchAudited(
        event_id=ids.event_id("batch-audited", source.topic, source.partition, source.offset),
        occurred_at=now,
        correlation_id=correlation,
        process_id=process_id,
        batch_id=subject,
        schema_version=version,
        target=None,
        received_at=now,
        checksum=checksum,
        status="failure",
        reason=reason,
    )
    return Decision(
        None,
        (Emit("errors", subject, dead_letter), Emit("audit", subject, audit)),
        (
            Count("intake_batches_total", (("outcome", "dead_letter"),)),
            Count("dead_letters_total", (("stage", "intake"), ("code", code))),
        ),
    )
