"""A person's sequence state as an operator reads it (pure): key from an address, a summary."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agents.sequencer.enrollment import contact_key_for
from agents.sequencer.person_state import PersonState
from streams.contracts.exceptions import InvalidInput
from streams.operator.dlq_view import mask_emails

_CONTACT_KEY = re.compile(r"^[0-9a-f]{32}$")


def contact_key_of(key_or_email: str) -> str:
    """A contact_key as given, or an email address hashed exactly as the sequencer keys it
    (so an operator can look a person up without the hub ever storing the address as a key)."""
    text = key_or_email.strip()
    if "@" in text:
        return contact_key_for(text)
    if _CONTACT_KEY.match(text.lower()):
        return text.lower()
    raise InvalidInput("KEY is neither an email address nor a contact key (32 hex characters)")


@dataclass(frozen=True, slots=True)
class DurableRecord:
    """What PostgreSQL holds about one person (rows as dicts, newest last)."""

    sequences: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)
    suppression: dict[str, Any] | None = None


def _t(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M:%S} UTC"


def _live_lines(live: PersonState) -> list[str]:
    lines = [f"live state (version {live.version}):"]
    a = live.active
    if a is None:
        lines.append("  active sequence   none")
    else:
        lines += [
            f"  active sequence   {a.aggregate_id} ({a.sequence_id}, {a.strategy})",
            f"  campaign          {a.campaign_id or '-'}",
            f"  to                {mask_emails(a.to_email)}",
            f"  touches done      {a.projection.last_touch_index}"
            f" (last {_t(a.projection.last_touch_at)})",
            f"  next due          {_t(a.next_due_at)}",
        ]
        stop = a.projection.stopped_by
        if stop is not None:
            lines.append(f"  stopped by        {stop.type} at {_t(stop.occurred_at)}")
    lines.append(f"  last contact      {_t(live.last_contact_at)} (cooling-off counts from it)")
    lines.append(f"  suppressed        {live.suppressed or 'no'}")
    for h in live.history:
        lines.append(
            f"  ended             {h.aggregate_id} {h.status}"
            f" ({h.reason or 'no reason'}) at {_t(h.ended_at)}"
        )
    return lines


def _durable_lines(d: DurableRecord) -> list[str]:
    lines = ["durable record (PostgreSQL):"]
    if d.suppression:
        s = d.suppression
        lines.append(f"  suppression       {s['reason']} since {_t(s['created_at'])}")
    else:
        lines.append("  suppression       not on the suppression list")
    if not d.sequences:
        lines.append("  sequences         none recorded")
    for s in d.sequences:
        lines.append(
            f"  sequence          {s['aggregate_id']} {s['status']}, touch "
            f"{s['current_touch_index']}, campaign {s['campaign_id'] or '-'}"
            f", updated {_t(s['updated_at'])}"
        )
    for e in d.events:
        if e["type"] in ("touch_requested",):
            continue  # the sends below tell those
        reason = f" ({e['reason']})" if e.get("reason") else ""
        lines.append(
            f"  event             {e['aggregate_id']} v{e['version']} {e['type']}{reason}"
            f" at {_t(e['occurred_at'])}"
        )
    for s in d.sends:
        marks = [m for m in ("opened", "clicked", "replied") if s.get(f"{m}_at")]
        lines.append(
            f"  touch {s['touch_index']:<11} {s['status']}"
            f"{' ' + ','.join(marks) if marks else ''} via {s['provider'] or '-'},"
            f" scheduled {_t(s['scheduled_at'])}, sent {_t(s['sent_at'])}"
            + (f", failure: {s['failure_reason']}" if s["failure_reason"] else "")
        )
    return lines


def summary_text(
    contact_key: str, durable: DurableRecord, live: PersonState | None, live_note: str
) -> str:
    """The summary `state show` prints: live state (from the sequencer's changelog) when it
    was read, then the durable record; the address itself never appears."""
    lines = [f"contact_key        {contact_key}"]
    if live is not None:
        lines += _live_lines(live)
    else:
        lines.append(f"live state: {live_note}")
    lines += _durable_lines(durable)
    return "\n".join(lines)
