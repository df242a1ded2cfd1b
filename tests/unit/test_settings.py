"""Settings from the environment: stage selection and the errors an operator sees."""

from __future__ import annotations

import pytest

from streams.app import create_app
from streams.contracts.exceptions import ConfigurationError
from streams.kernel.settings import STAGES, Settings


def test_a_worker_runs_every_stage_unless_told_otherwise() -> None:
    assert Settings.from_env({}).stages == STAGES


@pytest.mark.parametrize(("raw", "stages"), [
    ("sequencer", ("sequencer",)),
    ("sender, sink", ("sender", "sink")),
    ("intake,gate,", ("intake", "gate")),
])
def test_outreach_stages_picks_the_stages(raw: str, stages: tuple[str, ...]) -> None:
    assert Settings.from_env({"OUTREACH_STAGES": raw}).stages == stages


@pytest.mark.parametrize(("raw", "message"), [
    ("sequenser", "sequenser"),  # a typo names the bad value
    ("", "names no stage"),
    (" , ", "names no stage"),
    ("sequencer,sink,sequencer", "sequencer twice"),
])
def test_a_bad_stage_list_is_a_clear_configuration_error(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({"OUTREACH_STAGES": raw})


def test_only_the_chosen_stages_register_agents() -> None:
    hub = create_app(Settings(stages=("sequencer",)), "127.0.0.1:9", "postgresql://u@h/db")
    names = {agent.name.rsplit(".", 1)[-1] for agent in hub.app.agents.values()}
    assert names == {"sequencer", "sequencer-enrollments"}


@pytest.mark.parametrize(("stages", "group"), [
    (STAGES, "outreach-hub"),
    (tuple(reversed(STAGES)), "outreach-hub"),
    (("sequencer",), "outreach-hub-sequencer"),
    (("sink", "sender"), "outreach-hub-sender-sink"),  # order does not make a new group
])
def test_workers_with_different_stage_sets_join_different_groups(
        stages: tuple[str, ...], group: str) -> None:
    settings = Settings.from_env({"OUTREACH_STAGES": ",".join(stages)})
    assert settings.group_id == group
    assert create_app(settings, "127.0.0.1:9", "postgresql://u@h/db").app.conf.id == group
