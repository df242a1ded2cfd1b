"""Faust keys agents by name: a stage that registers an agent under another stage's name
silently replaces it (the health stage once replaced the campaign stage's verdict router, so no
PAUSE ever reached a campaign). Every stage's agents must have names of their own."""

from __future__ import annotations

from collections import Counter

from streams.app import create_app
from streams.kernel.settings import STAGES, Settings


def test_no_two_stages_register_an_agent_under_the_same_name() -> None:
    names: Counter[str] = Counter()
    for stage in STAGES:
        hub = create_app(Settings(stages=(stage,)), "127.0.0.1:9", "postgresql://u@h/db")
        names.update(hub.app.agents.keys())
    assert [name for name, n in names.items() if n > 1] == []


def test_a_worker_running_every_stage_has_every_stage_s_agents() -> None:
    alone = set()
    for stage in STAGES:
        alone |= set(create_app(Settings(stages=(stage,)), "127.0.0.1:9",
                                "postgresql://u@h/db").app.agents.keys())
    together = set(create_app(Settings(), "127.0.0.1:9", "postgresql://u@h/db").app.agents)
    assert together == alone
