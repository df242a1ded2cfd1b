"""The operator API's decisions, pure: who is asking, what they asked for, what to answer.

Decisions:
- With no token configured every call answers 503 ("operator API disabled"), not 401: the
  operator learns the worker is not set up, rather than suspecting their own token. Nothing is
  produced either way.
- Reads need a token too (campaign data is not public).
- `operator` in a command's body is a check, not an identity: the token decides who acts, and
  a body naming another operator is refused (403), so a script holding the wrong token stops.
- The command id may come from the caller (a retried call then waits for the same outcome);
  otherwise the API makes one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, get_args

from pydantic import ValidationError

from streams.adapters.campaigns_db import CampaignFilter
from streams.contracts.models.campaign import CampaignCommand, CampaignState
from streams.contracts.models.gate import Tier
from streams.contracts.records import describe
from streams.kernel.campaign_outcomes import Outcome
from streams.kernel.operator_tokens import OperatorTokens, bearer

VERBS = ("approve", "reject", "ask", "modify_scope", "pause", "resume", "cancel")
STATES = frozenset(get_args(CampaignState))
TIERS = frozenset(get_args(Tier))
MAX_LIMIT = 500
COMMAND_ID = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
BODY_FIELDS = frozenset({"operator", "note", "reason", "approval", "draft_version", "scope",
                         "command_id"})


class Refusal(Exception):
    """An HTTP answer other than success: status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def as_json(self) -> dict[str, Any]:
        return {"status": "refused", "error": self.reason}


def authenticate(tokens: OperatorTokens, authorization: str | None) -> str:
    """The operator's name, or Refusal(503 / 401). Never says which part of a token was wrong."""
    if not tokens.configured:
        raise Refusal(503, "operator API disabled: no OUTREACH_OPERATOR_TOKENS on the worker")
    name = tokens.identify(bearer(authorization))
    if name is None:
        raise Refusal(401, "missing or unknown operator token")
    return name


def _int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Refusal(400, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise Refusal(400, f"{name} must be between {low} and {high}")
    return value


def list_filter(query: Mapping[str, str]) -> CampaignFilter:
    state = query.get("state") or None
    if state is not None and state not in STATES:
        raise Refusal(400, f"state must be one of {', '.join(sorted(STATES))}")
    tier = query.get("tier") or None
    if tier is not None:
        tier = tier.upper()
        if tier not in TIERS:
            raise Refusal(400, f"tier must be one of {', '.join(sorted(TIERS))}")
    return CampaignFilter(
        state=state, company_sov_id=query.get("company") or None, tier=tier,
        limit=_int(query, "limit", 50, 1, MAX_LIMIT),
        offset=_int(query, "offset", 0, 0, 10_000_000),
    )


def command_from(verb: str, campaign_id: str, body: Any, operator: str, new_id: str,
                 now: datetime) -> CampaignCommand:
    """The command a POST asks for, as `operator` (Refusal 400/403/404 otherwise)."""
    if verb not in VERBS:
        raise Refusal(404, f"no such command: {verb} (one of {', '.join(VERBS)})")
    if not isinstance(body, dict):
        raise Refusal(400, "the body must be a JSON object")
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise Refusal(400, f"unknown field(s): {', '.join(unknown)}")
    claimed = body.get("operator")
    if claimed is not None and claimed != operator:
        raise Refusal(403, f"the token is operator {operator}'s, not {claimed}'s")
    command_id = body.get("command_id") or new_id
    if not isinstance(command_id, str) or not COMMAND_ID.match(command_id):
        raise Refusal(400, "command_id must be 8-100 letters, digits, '.', '_', ':' or '-'")
    if verb != "approve" and body.get("approval") is not None:
        raise Refusal(400, "approval terms go with approve only")
    if verb != "modify_scope" and body.get("scope") is not None:
        raise Refusal(400, "scope goes with modify_scope only")
    try:
        return CampaignCommand.model_validate({
            "command_id": command_id, "command": verb, "campaign_id": campaign_id,
            "actor": f"operator:{operator}", "issued_at": now,
            "reason": body.get("reason"), "note": body.get("note"),
            "approval": body.get("approval"), "draft_version": body.get("draft_version"),
            "scope": body.get("scope"),
        })
    except ValidationError as exc:
        raise Refusal(400, f"invalid command: {describe(exc)}") from None


def answer(command: CampaignCommand, outcome: Outcome | None) -> tuple[int, dict[str, Any]]:
    """200 accepted, 409 refused (with the hub's reason), 202 no verdict in time."""
    if outcome is None:
        return 202, {"status": "pending", "command_id": command.command_id,
                     "campaign_id": command.campaign_id,
                     "reason": "the command is on the broker; the hub has not decided yet"}
    return (200 if outcome.accepted else 409), outcome.as_json()
