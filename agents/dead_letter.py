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
    stage: str,
    raw: bytes,
    source: SourceRef,
    exc: Exception,
    now: datetime,
    ids: IdFactory,
    *,
    key: bytes | None = None,
    key_known: bool = False,
    item: str | None = None,
) -> Decision[None]:
    event = error_event(stage, raw, source, exc, now, ids, key=key, key_known=key_known,
                        item=item)
    return Decision(
        None,
        (Emit("errors", event.subject_id or "", event),),
        (Count("dead_letters_total", (("stage", stage), ("code", event.code))),),
    )


def error_event(
    stage: str,
    raw: bytes,
    source: SourceRef,
    exc: Exception,
    now: datetime,
    ids: IdFactory,
    *,
    key: bytes | None = None,
    key_known: bool = False,
    item: str | None = None,
) -> OutreachErrorRaised:
    """The error record of a record `stage` could not read (also the sink's error row).

    `key_known`: `source` is a real record and `key` is its key (None: it had none), so the
    dead letter can be replayed when it also holds the whole record. `item`: the letter is of
    one item of the record at `source` (a packed lead card, by its event id), `raw` that item
    as a record of its own, and `key` its key: the record's other items have letters of their
    own, or none."""
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
            # A bug or an unexpected state: the record is kept, the stage goes on. The reason
            # names the exception's type only: its message may quote the record's values.
            code, reason = "DLQ-PROCESSING-FAILED", f"{type(exc).__name__} (see the record)"
    kept = bounded_record(record, len(raw), "sha256:" + hashlib.sha256(raw).hexdigest())
    source_key = _text_key(key) if key_known else None
    replayable = (
        key_known
        and code != "DLQ-MALFORMED"
        and kept is record
        and (key is None or source_key is not None)
    )
    subject = f"{source.topic}/{source.partition}/{source.offset}"
    if item is not None:
        subject = f"{subject}#{item}"
    return OutreachErrorRaised(
        event_id=ids.event_id("dead-letter", source.topic, source.partition, source.offset,
                              *(() if item is None else (item,))),
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


def _text_key(key: bytes | None) -> str | None:
    """The hub's keys are ids and hashes (text); a key that is not UTF-8 cannot be kept as
    text, and its dead letter is then not replayable."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return None


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
