"""Dead letters as an operator reads them (pure): a table, one whole letter, email masking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from streams.contracts.exceptions import InvalidInput

# Enough of an address to be one; masking errs on the side of hiding.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")
_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
REASON_WIDTH = 60


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    occurred_at: datetime
    stage: str
    code: str
    severity: str
    reason: str
    source_topic: str | None
    source_partition: int | None
    source_offset: int | None
    subject_id: str | None
    correlation_id: str
    record: Any
    source_key: str | None
    replayable: bool
    replayed_at: datetime | None = None
    replayed_to: str | None = None

    @property
    def source(self) -> str:
        if self.source_topic is None:
            return "-"
        return f"{self.source_topic}/{self.source_partition}/{self.source_offset}"

    @property
    def replay(self) -> str:
        """`replayed`, `yes` (can be), or `no` (the letter does not hold the whole record)."""
        if self.replayed_at is not None:
            return "replayed"
        return "yes" if self.replayable else "no"


def mask_emails(value: Any) -> Any:
    """Every email address in strings (keys too) becomes `***@domain`: the domain is what an
    operator needs to judge a domain mismatch; the person stays hidden."""
    if isinstance(value, str):
        return _EMAIL.sub(lambda m: "***@" + m.group(1), value)
    if isinstance(value, dict):
        return {mask_emails(k): mask_emails(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_emails(v) for v in value]
    return value


def parse_since(text: str, now: datetime) -> datetime:
    """`30m`, `2h`, `7d` before now, or an ISO date / date-time (UTC when it names no zone)."""
    match = _SINCE.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"--since {text!r} is neither a duration (30m, 2h, 7d) nor an ISO date-time"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=now.tzinfo)


def _clip(text: str, width: int) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def list_table(letters: list[DeadLetter]) -> str:
    """id, time, stage, code, replay, source, reason: never the record itself."""
    if not letters:
        return "no dead letters"
    header = ("id", "time (UTC)", "stage", "code", "replay", "source", "reason")
    rows = [
        (
            d.id,
            f"{d.occurred_at:%Y-%m-%d %H:%M:%S}",
            d.stage,
            d.code,
            d.replay,
            d.source,
            _clip(d.reason, REASON_WIDTH),
        )
        for d in letters
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines) + f"\n{len(letters)} dead letter(s)"


def summary_json(d: DeadLetter) -> dict[str, Any]:
    """The list's fields as JSON (`dlq list --json`): no record, no key."""
    return {
        "id": d.id, "occurred_at": d.occurred_at.isoformat(), "stage": d.stage, "code": d.code,
        "severity": d.severity, "reason": d.reason, "source_topic": d.source_topic,
        "source_partition": d.source_partition, "source_offset": d.source_offset,
        "replay": d.replay,
    }


def whole_json(d: DeadLetter, *, reveal: bool) -> dict[str, Any]:
    out = summary_json(d) | {
        "subject_id": d.subject_id, "correlation_id": d.correlation_id,
        "source_key": d.source_key,
        "replayed_at": None if d.replayed_at is None else d.replayed_at.isoformat(),
        "replayed_to": d.replayed_to, "record": d.record,
    }
    return out if reveal else mask_emails(out)


def show_text(d: DeadLetter, *, reveal: bool) -> str:
    """One dead letter whole. The record is the operator's to see, emails masked unless
    `reveal`: it may still hold names and other personal data."""
    doc = whole_json(d, reveal=reveal)
    record = doc.pop("record")
    width = max(len(k) for k in doc)
    lines = [f"{k.ljust(width)}  {'-' if v is None else v}" for k, v in doc.items()]
    note = "as received" if reveal else "email addresses masked; --reveal shows them"
    lines.append(f"record ({note}):")
    body = orjson.dumps(record, option=orjson.OPT_INDENT_2).decode() if not isinstance(
        record, str) else record
    lines.extend("  " + line for line in body.splitlines())
    return "\n".join(lines)


def replay_refusal(d: DeadLetter) -> str | None:
    """Why this dead letter cannot be replayed (one line), or None when it can."""
    if d.replayed_at is not None:
        return (f"dead letter {d.id} was already replayed at {d.replayed_at:%Y-%m-%d %H:%M:%S} "
                f"UTC to {d.replayed_to}; nothing sent")
    if not d.replayable or d.source_topic is None:
        return (f"dead letter {d.id} ({d.code}) does not hold the whole source record and its "
                "key (a part of a record, non-JSON text, a record too large to keep, or a letter "
                "written before replay support); re-publish it with `outreach-hub produce`")
    return None


def replay_value(record: Any) -> bytes:
    """The record re-encoded as compact JSON: equal as JSON to what arrived (key order,
    spacing and number spelling may differ), which is all a hub stage reads."""
    try:
        return orjson.dumps(record)
    except TypeError:  # integers beyond 64 bits, which the stored record may hold
        import json

        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
