"""A record a stage cannot read becomes a dead letter with the reason (pure)."""

from __future__ import annotations

import hashlib
from datetime import datetime

import orjson
from pydantic import ValidationError

from agents.decision import Count, Decision, Emit
from agents.records import SourceRef, bounded_record, describe
from streams.exceptions import InvalidInput
from streams.ids import IdFactory
from streams.models.errors import SEVERITY, DeadLetterCode, OutreachErrorRaised


def dead_letter(
    stage: str,
    raw: bytes,
    source: SourceRef,
    exc: Exception,
    now: datetime,
    ids: IdFactory,
    *,
    key: bytes | None = None,
    key_known: bool = False,
) -> Decision[None]:
    """`key_known`: `source` is a real record and `key` is its key (None: it had none), so the
    dead letter can be replayed when it also holds the whole record."""
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
    kept = bounded_record(record, len(raw), "sha256:" + hashlib.sha256(raw).hexdigest())
    source_key = _text_key(key) if key_known else None
    replayable = (
        key_known
        and code != "DLQ-MALFORMED"
        and kept is record
        and (key is None or source_key is not None)
    )
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
        record=kept,
        source_key=source_key,
        replayable=replayable,
    )
    return Decision(
        None,
        (Emit("errors", subject, event),),
        (Count("dead_letters_total", (("stage", stage), ("code", code))),),
    )


def _text_key(key: bytes | None) -> str | None:
    """The hub's keys are ids and hashes (text); a key that is not UTF-8 cannot be kept as
    text, and its dead letter is then not replayable."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None
