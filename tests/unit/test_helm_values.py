"""The chart's default pools: every stage runs, none runs twice, each pool its own group."""

from __future__ import annotations

from pathlib import Path

import yaml

from streams.kernel.settings import STAGES, Settings

CHART = Path(__file__).resolve().parents[2] / "helm" / "outreach-hub"


def test_the_default_pools_run_every_stage_exactly_once() -> None:
    pools = yaml.safe_load((CHART / "values.yaml").read_text())["pools"]
    stages = [stage for pool in pools for stage in pool["stages"]]
    assert sorted(stages) == sorted(STAGES)
    groups = {Settings(stages=tuple(pool["stages"])).group_id for pool in pools}
    assert len(groups) == len(pools)

