"""The desk's form and query handling, pure: a page's filter, a form's command body, the
flash after an action, and the rate bars of a running campaign."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from agents.campaigns.health import HealthPolicy
from streams.desk.queries import ListQuery
from streams.operator.campaign_requests import Refusal

MAX_PAGE = 100_000
NOTE_CHARS = 2000


def list_query(query: Mapping[str, str], states: frozenset[str], tiers: frozenset[str]
               ) -> ListQuery:
    """The filter of /desk/campaigns; an unknown value is no filter (a page, not an error)."""
    state = query.get("state") or None
    tier = (query.get("tier") or "").upper() or None
    raw_page = query.get("page") or "1"
    page = int(raw_page) if raw_page.isdigit() else 1
    return ListQuery(state=state if state in states else None,
                     company=(query.get("company") or "").strip()[:100] or None,
                     tier=tier if tier in tiers else None, page=min(max(page, 1), MAX_PAGE))


def page_url(q: ListQuery, page: int) -> str:
    params = {k: v for k, v in (("state", q.state), ("company", q.company), ("tier", q.tier))
              if v}
    return "/desk/campaigns?" + urlencode({**params, "page": page})


def _text(form: Mapping[str, Any], name: str) -> str | None:
    value = str(form.get(name, "") or "").strip()
    if len(value) > NOTE_CHARS:
        raise Refusal(400, f"{name} is longer than {NOTE_CHARS} characters")
    return value or None


def _int(form: Mapping[str, Any], name: str) -> int | None:
    value = _text(form, name)
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise Refusal(400, f"{name} must be a whole number of at least 1")
    return int(value)


def _when(form: Mapping[str, Any], name: str) -> str | None:
    """A `datetime-local` field (read as UTC) or an ISO time with its zone."""
    value = _text(form, name)
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Refusal(400, f"{name} is not a date and time") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def body_of(verb: str, form: Mapping[str, Any]) -> dict[str, Any]:
    """The operator API's command body for a desk form (the same command, the same checks)."""
    body: dict[str, Any] = {"note": _text(form, "note"), "reason": _text(form, "reason")}
    if verb == "approve":
        terms = {"window_start": _when(form, "window_start"),
                 "window_end": _when(form, "window_end"),
                 "max_sends_per_hour": _int(form, "max_sends_per_hour"),
                 "max_sends_per_day": _int(form, "max_sends_per_day"),
                 "overrides_health_verdict_id": _text(form, "overrides_health_verdict_id")}
        body["approval"] = {k: v for k, v in terms.items() if v is not None}
        body["draft_version"] = _int(form, "draft_version")
    if verb == "modify_scope":
        audience = _text(form, "max_audience")
        if audience is not None and not audience.isdigit():
            raise Refusal(400, "max_audience must be a whole number")
        body["scope"] = {"max_audience": None if audience is None else int(audience)}
    return {k: v for k, v in body.items() if v is not None}


def flash(verb: str, result: Mapping[str, Any]) -> str:
    if result.get("status") == "pending":
        return (f"{verb}: the command is on the broker; the hub has not decided yet. "
                "Reload in a moment.")
    return f"{verb}: accepted by the hub; the campaign is now {result.get('state')}."


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def bars(view: Mapping[str, Any], policy: HealthPolicy) -> list[dict[str, Any]]:
    """Engagement, bounce and complaint rates against their thresholds, for the SVG chart: the
    latest health verdict's figures where recorded, else the campaign's own counts."""
    health = view.get("health") or []
    if health:
        h = health[-1]
        rates = (h["engagement_rate"], h["bounce_rate"], h["complaint_rate"])
    else:
        sent = int(view.get("sends", {}).get("sent", 0))
        e = view.get("engagement", {})
        rates = (_rate(int(e.get("opened", 0)) + int(e.get("replied", 0)), sent),
                 _rate(int(e.get("hard_bounced", 0)), sent),
                 _rate(int(e.get("complained", 0)), sent))
    out = []
    for (label, threshold, good_above), rate in zip(
            (("engagement rate", policy.review_engagement_rate, True),
             ("hard-bounce rate", policy.pause_hard_bounce_rate, False),
             ("complaint rate", policy.pause_complaint_rate, False)), rates, strict=True):
        ok = rate >= threshold if good_above else rate < threshold
        scale = max(rate, threshold) * 1.25 or 1.0
        out.append({"label": label, "rate": rate, "threshold": threshold, "ok": ok,
                    "width": round(300 * rate / scale), "mark": round(300 * threshold / scale),
                    "rule": f"{'at least' if good_above else 'below'} {threshold:.1%}"})
    return out
