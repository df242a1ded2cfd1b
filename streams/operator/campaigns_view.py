"""Campaigns as an operator reads them (pure): the list, one campaign's story, a verdict.

The rows are the API's JSON objects (whole PostgreSQL rows), so a column another stage adds
is carried by `--json` at once; the tables pick the columns a person needs and leave missing
ones blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

REASON_WIDTH = 60
PAST = {"approve": "approved", "reject": "rejected", "ask": "asked about",
        "modify_scope": "re-scoped", "pause": "paused", "resume": "resumed",
        "cancel": "cancelled"}


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(value: Any) -> str:
    """An ISO timestamp as `YYYY-MM-DD HH:MM:SS` (what PostgreSQL's JSON gives, shortened)."""
    if not value:
        return ""
    text = str(value).replace("T", " ")
    return text[:19]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *rows])


def list_table(campaigns: Sequence[dict[str, Any]]) -> str:
    if not campaigns:
        return "no campaigns"
    header = ("campaign", "state", "tier", "company", "version", "approved by", "expires",
              "updated")
    rows = [(_cell(c.get("campaign_id")), _cell(c.get("state")), _cell(c.get("tier")),
             _cell(c.get("company_sov_id")), _cell(c.get("version")),
             _cell(c.get("approved_by")), _when(c.get("expires_at")),
             _when(c.get("updated_at"))) for c in campaigns]
    return table(header, rows) + f"\n{len(campaigns)} campaign(s)"


def summary_json(c: dict[str, Any]) -> dict[str, Any]:
    """`campaigns list --json`: the row as recorded, the four names scripts use always present."""
    return {"campaign_id": c.get("campaign_id"), "state": c.get("state"),
            "company_sov_id": c.get("company_sov_id"), "tier": c.get("tier"), **c}


def _verdict_line(record: dict[str, Any]) -> str:
    when = _when(record.get("evaluated_at") or record.get("audited_at")
                 or record.get("occurred_at"))
    verdict = _cell(record.get("verdict"))
    details = []
    for name in ("sends", "bounce_rate", "complaint_rate", "engagement_rate"):
        if record.get(name) is not None:
            details.append(f"{name}={record[name]}")
    reasons = record.get("reasons") or record.get("findings")
    if reasons:
        details.append(f"why={_clip(str(reasons), REASON_WIDTH)}")
    if record.get("verdict_id"):  # what an approval overriding a health pause names
        details.append(f"id={record['verdict_id']}")
    return "  ".join(p for p in (when, verdict, " ".join(details)) if p)


def show_text(found: dict[str, Any]) -> str:
    c = found.get("campaign") or {}
    history: list[dict[str, Any]] = found.get("history") or []
    campaign_id = c.get("campaign_id") or (history[0].get("campaign_id") if history else "?")
    state = _cell(c.get("state")) or "(no campaign row yet)"
    if c.get("version"):
        state += f" (version {c['version']})"
    fields = [("campaign", campaign_id), ("state", state), ("tier", c.get("tier")),
              ("company", c.get("company_sov_id")), ("approved by", c.get("approved_by")),
              ("expires", _when(c.get("expires_at")))]
    if c.get("approved_by") and c.get("approved_at"):
        fields[4] = ("approved by", f"{c['approved_by']} at {_when(c['approved_at'])}")
    held_by = c.get("health_verdict_id")
    if held_by:
        # The verdict on the campaign now (a later PAUSE, e.g. its sending domain's, replaced
        # an earlier one): the only one an approval may override.
        fields.append(("paused by", f"health verdict {held_by}: only `campaigns approve "
                       f"{campaign_id} --overrides-health-verdict {held_by}` lifts it"))
    lines = [f"{label:<12}{value}" for label, value in fields if value]
    lines += ["", "history"]
    if history:
        rows = [(_cell(e.get("version")), _when(e.get("occurred_at")),
                 f"{e.get('from_state') or '-'} -> {e.get('to_state')}", _cell(e.get("actor")),
                 _clip(_cell(e.get("reason") or e.get("note")), REASON_WIDTH))
                for e in history]
        lines.append(table(("version", "time (UTC)", "transition", "actor", "reason"), rows))
    else:
        lines.append("  none recorded")
    for label in ("health", "audit"):
        records: list[dict[str, Any]] = found.get(label) or []
        lines += ["", label]
        lines += [f"  {_verdict_line(r)}" for r in records] or ["  none recorded"]
    return "\n".join(lines)


def verdict_line(verb: str, body: dict[str, Any]) -> str:
    """What an accepted command did, in one line."""
    done = PAST.get(verb, verb)
    state = body.get("state")
    version = body.get("version")
    return (f"{done} {body.get('campaign_id')}: now {state} (version {version}, command "
            f"{body.get('command_id')})")
