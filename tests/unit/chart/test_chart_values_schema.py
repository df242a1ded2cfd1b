"""Bad values are refused before anything reaches a cluster: by values.schema.json or a guard."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from chart_render import CHART, render_chart

from streams.kernel.settings import STAGES

SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def refused(values: dict[str, Any]) -> str:
    import helm_python as helm

    with pytest.raises(helm.HelmError) as caught:
        render_chart(values)
    return str(caught.value)


def test_the_schema_knows_every_stage_and_only_those() -> None:
    assert SCHEMA["properties"]["pools"]["items"]["properties"]["stages"]["items"]["enum"] == list(
        STAGES
    )


def test_a_stage_in_two_pools_is_refused() -> None:
    message = refused(
        {
            "pools": [
                {"name": "a", "stages": ["intake", "gate"], "replicas": 1},
                {"name": "b", "stages": ["gate", "sink"], "replicas": 1},
            ]
        }
    )
    assert "stage gate is in two pools" in message


@pytest.mark.parametrize(
    ("pools", "where"),
    [
        ([{"stages": ["gate"], "replicas": 1}], "name"),
        ([{"name": "gate", "stages": ["gate"], "replicas": "2"}], "replicas"),
        ([{"name": "gate", "stages": ["gaet"], "replicas": 1}], "stages"),
        ([{"name": "gate", "stages": [], "replicas": 1}], "stages"),
        ([{"name": "Gate_Pool", "stages": ["gate"], "replicas": 1}], "name"),
        ([], "pools"),
    ],
    ids=["no-name", "replicas-string", "unknown-stage", "no-stage", "bad-name", "no-pool"],
)
def test_malformed_pools_are_refused_by_the_schema(pools: list[Any], where: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"pools": pools}, {**SCHEMA, "required": []})
    assert where in refused({"pools": pools})


def test_a_pool_name_used_twice_is_refused() -> None:
    pools = [
        {"name": "a", "stages": ["intake"], "replicas": 1},
        {"name": "a", "stages": ["gate"], "replicas": 1},
    ]
    assert "pool a is defined twice" in refused({"pools": pools})


def test_the_old_top_level_replicas_is_refused() -> None:
    refused({"replicas": 3})


def test_a_misspelled_key_is_refused() -> None:
    assert "ingres" in refused({"ingres": {"enabled": True}})


def test_a_sending_value_cannot_be_smuggled_into_values() -> None:
    assert "smtpPassword" in refused({"sending": {"secretName": "s", "smtpPassword": "x"}})
