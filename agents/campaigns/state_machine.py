"""The transition table: which command may move a campaign from which state, and where to.

Seed 000's `draft -> scheduled -> active -> completed` with `paused` and `cancelled`, extended
by seed 004's review (`rejected`, `expired`) and audit (`failed`). A pair absent from the table
is illegal: the command is refused with a reason, never dropped.
"""

from __future__ import annotations

from typing import get_args

from streams.contracts.models.campaign import CampaignState, CommandName

STATES: tuple[CampaignState, ...] = get_args(CampaignState)
COMMANDS: tuple[CommandName, ...] = get_args(CommandName)
ENDED: frozenset[str] = frozenset({"completed", "cancelled", "rejected", "expired", "failed"})
# Sends happen only in `active`; these hold the campaign's persons enrolled but untouched.
HOLDING: frozenset[str] = frozenset({"requested", "draft", "scheduled", "paused"})

# (state, command) -> the states it may lead to (the launch picks one: e.g. an approval goes
# to `scheduled` before the window opens, else `active`). `None` is "no campaign yet".
# Same-state entries are recorded review steps (a note, a new draft version, more audience).
TRANSITIONS: dict[tuple[CampaignState | None, CommandName], frozenset[CampaignState]] = {
    (None, "request"): frozenset({"draft", "active", "scheduled"}),  # the last two: policy
    **{(s, "request"): frozenset({s}) for s in ("draft", "scheduled", "active", "paused")},
    ("draft", "approve"): frozenset({"active", "scheduled"}),
    ("paused", "approve"): frozenset({"active", "scheduled"}),
    ("draft", "reject"): frozenset({"rejected"}),
    ("draft", "ask"): frozenset({"draft"}),
    ("draft", "modify_scope"): frozenset({"draft"}),
    ("scheduled", "pause"): frozenset({"paused"}),
    ("active", "pause"): frozenset({"paused"}),
    ("paused", "resume"): frozenset({"active", "scheduled"}),
    **{(s, "cancel"): frozenset({"cancelled"})
       for s in ("draft", "scheduled", "active", "paused")},
    ("draft", "expire"): frozenset({"expired"}),
    ("scheduled", "activate"): frozenset({"active"}),
    **{(s, "pause_for_health"): frozenset({"paused"})
       for s in ("scheduled", "active", "paused")},
    ("active", "complete"): frozenset({"completed"}),
    ("paused", "complete"): frozenset({"completed"}),
    ("active", "fail"): frozenset({"failed"}),
    ("paused", "fail"): frozenset({"failed"}),
}


def targets(state: CampaignState | None, command: CommandName) -> frozenset[CampaignState]:
    return TRANSITIONS.get((state, command), frozenset())


def illegal_reason(state: CampaignState | None, command: CommandName) -> str:
    if state is None:
        return f"no campaign of this id exists: {command} needs one (request it first)"
    if state in ENDED:
        return f"the campaign has ended ({state}): nothing can {command} it"
    legal = sorted(s or "-" for (s, c) in TRANSITIONS if c == command)
    return f"{command} is not allowed in state {state} (only in: {', '.join(legal)})"
