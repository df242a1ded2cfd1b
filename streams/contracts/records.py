"""Where an input record came from, and how its validation errors are told (without values)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True, slots=True)
class SourceRef:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


def describe(exc: ValidationError) -> str:
    """Validation errors without the offending values (they may hold an email address)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
        for err in exc.errors(include_input=False, include_url=False)
    )


# Dead letters carry the offending record, but not without bound: a record over this size is
# replaced by its size and checksum (the source topic/partition/offset still point at it).
MAX_RECORD_BYTES = 256 * 1024


def bounded_record(record: object, size: int, digest: str) -> object:
    if size <= MAX_RECORD_BYTES:
        return record
    return {"omitted": "record too large for a dead letter", "bytes": size, "checksum": digest}
