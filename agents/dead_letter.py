"""A record a stage cannot read becomes a dead letter with the reason (pure)."""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
from pydantic import BaseModel, ValidationError

from streams.contracts import codec
from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.exceptions import InvalidInput
from streams.contracts.ids import IdFactory
from streams.contracts.models.errors import SEVERITY, DeadLetterCode, OutreachErrorRaised
from streams.contracts.records import SourceRef, bounded_record, describe


def dead_letter(
    stage: str, raw: bytes, source: SourceRef, exc: Exception, now: datetime, ids: IdFactory
) -> Decision[None]:
    event = error_event(stage, raw, source, exc, now, ids)
    return Decision(
        None,
        (Emit("errors", event.subject_id or "", event),),
        (Count("dead_letters_total", (("stage", stage), ("code", event.code))),),
    )


def error_event(
    stage: str, raw: bytes, source: SourceRef, exc: Exception, now: datetime, ids: IdFactory
) -> OutreachErrorRaised:
    """The error record of a record `stage` could not read (also the sink's error row)."""
    try:
        record: object = orjson.loads(raw)
    except orjson.JSONDecodeError as json_error:
        record = raw[:2000].decode("utf-8", "replace")
        code: DeadLetterCode = "DLQ-MALFORMED"
        reason = f"not valid JSON: {json_error}"
    else:
        if isinstance(exc, ValidationError):
            code, reason = "DLQ-INVALID-EVENT", describe(exc)
        elif isinstance(exc, InvalidInput):  # our own reason: names fields, never values
            code, reason = "DLQ-INVALID-EVENT", str(exc)
        else:
            # A bug or an unexpected state: the record is kept, the stage goes on.
            code, reason = "DLQ-PROCESSING-FAILED", f"{type(exc).__name__}: {str(exc)[:500]}"
    record = bounded_record(record, len(raw), "sha256:" + hashlib.sha256(raw).hexdigest())
    subject = f"{source.topic}/{source.partition}/{source.offset}"
    event = OutreachErrorRaised(
        event_id=ids.event_id("dead-letter", source.topic, source.partition, source.offset),
        occurred_at=now,
        correlation_id=f"record:{subject}",
        process_id=ids.process_id("campaign", now, subject),
        code=code,
        severity=SEVERITY[code],
        stage=stage,
        reason=reason,
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        subject_id=subject,
        record=record,
    )
    return event


def refused_row(
    stage: str, event: BaseModel, exc: Exception, now: datetime, ids: IdFactory
) -> OutreachErrorRaised:
    """The error row of an event PostgreSQL refuses for its data (a bad value, a broken
    constraint): it would be refused on every retry, so it is kept in the record instead."""
    error = error_event(stage, codec.dumps(event), SourceRef(stage, 0, 0), exc, now, ids)
    return error.model_copy(update={
        "event_id": ids.event_id("refused", getattr(event, "event_id", "")),
        "reason": f"PostgreSQL refused the row: {exc}",
    })
