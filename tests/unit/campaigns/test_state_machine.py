"""Every (state, command) pair of the campaign state machine: a legal one moves the campaign
and says so in a versioned event; an illegal one is refused with a reason and changes nothing."""

from __future__ import annotations

import itertools

import pytest

from agents.campaigns.state_machine import COMMANDS, STATES, TRANSITIONS
from streams.contracts.models.campaign import (
    CampaignCommandRejected,
    CampaignState,
    CampaignStateChanged,
    CommandName,
)
from tests.unit.campaigns.helpers import command, run, state_in

PAIRS = list(itertools.product((None, *STATES), COMMANDS))


def test_the_table_names_only_known_states_and_commands() -> None:
    for (state, name), targets in TRANSITIONS.items():
        assert state in (None, *STATES) and name in COMMANDS and targets <= set(STATES)


@pytest.mark.parametrize(("state", "name"), PAIRS, ids=lambda v: str(v))
def test_every_state_and_command(state: CampaignState | None, name: CommandName) -> None:
    before = state_in(state)
    cmd = command(name)
    decision = run(before, cmd)
    events = [e.event for e in decision.emits if e.topic == "campaign_events"]
    legal = TRANSITIONS.get((state, name))
    if legal:
        assert events and all(isinstance(e, CampaignStateChanged) for e in events)
        assert events[0].from_state == state and events[-1].to_state in legal | {"draft"}
        assert decision.state.state == events[-1].to_state
        assert [e.version for e in events] == list(
            range(before.version + 1, before.version + 1 + len(events)))
        assert all(e.command_id in (cmd.command_id, f"{cmd.command_id}:auto-approve")
                   for e in events)
    else:
        [rejected] = events
        assert isinstance(rejected, CampaignCommandRejected)
        assert rejected.reason and rejected.code and rejected.state == state
        assert decision.state.state == before.state and decision.state.version == before.version
    # Decided once: the same command again is a no-op, whatever it was.
    assert run(decision.state, cmd).emits == ()


def test_every_pair_is_covered() -> None:
    assert len(PAIRS) == 11 * 13
