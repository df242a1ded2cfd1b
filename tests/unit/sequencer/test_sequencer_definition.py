"""Sequence definitions: validation with field-naming errors, and the YAML loader."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.sequencer import (
    InvalidSequenceDefinition,
    SequenceDefinition,
    load_definitions,
    parse_definition,
)
from agents.sequencer.definition import DEFAULT_DEFINITIONS_PATH
from streams.contracts.exceptions import ConfigurationError


def touch(index: int, channel: str = "email") -> dict[str, Any]:
    return {"index": index, "channel": channel, "principal": "sales-dev", "audience": "buyer",
            "subject": f"Touch {index}", "content_digest": f"sha256:touch{index}"}


def definition(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "touches": [touch(1), touch(2), touch(3)],
        "rules": {"min_days_apart": 3, "stop_on": ["replied", "unsubscribed"]},
    }
    return base | over


def test_valid_definition_defaults() -> None:
    d = parse_definition(definition())
    assert [t.index for t in d.touches] == [1, 2, 3]
    assert d.rules.cooling_off_days == 0
    assert d.sequence_id is None
    assert d.touch(2).subject == "Touch 2"


def test_definition_is_frozen() -> None:
    d = parse_definition(definition())
    with pytest.raises(ValueError, match="frozen"):
        d.rules = d.rules  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "names"),
    [
        (definition(touches=[]), "touches"),
        (definition(touches=[touch(2), touch(3)]), "contiguous"),
        (definition(touches=[touch(1), touch(3)]), "contiguous"),
        (definition(touches=[touch(2), touch(1)]), "contiguous"),
        (definition(touches=[touch(1), touch(1)]), "contiguous"),
        (definition(touches=[touch(0)]), "touches[0].index"),
        (definition(touches=[touch(1, "sms")]), "touches[0].channel"),
        (definition(touches=[touch(1) | {"subject": ""}]), "touches[0].subject"),
        (definition(touches=[touch(1) | {"content_digest": "nodigest"}]),
         "touches[0].content_digest"),
        (definition(touches=[{k: v for k, v in touch(1).items() if k != "principal"}]),
         "touches[0].principal"),
        (definition(touches=[touch(1) | {"extra": 1}]), "touches[0].extra"),
        (definition(rules={"min_days_apart": -1, "stop_on": []}), "rules.min_days_apart"),
        (definition(rules={"min_days_apart": 1, "stop_on": ["opened"]}), "rules.stop_on[0]"),
        (definition(rules={"min_days_apart": 1, "stop_on": ["replied", "replied"]}),
         "more than once"),
        (definition(rules={"min_days_apart": 1, "stop_on": [], "cooling_off_days": -0.5}),
         "rules.cooling_off_days"),
        (definition(rules={"stop_on": []}), "rules.min_days_apart"),
        ({"touches": [touch(1)]}, "rules"),
        (definition(sequence_id=""), "sequence_id"),
        ([touch(1)], "expected a mapping"),
    ],
)
def test_invalid_definitions_name_the_field(data: Any, names: str) -> None:
    with pytest.raises(InvalidSequenceDefinition, match=r"sequence_definition") as info:
        parse_definition(data)
    assert names in str(info.value)
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("stop", ["replied", "unsubscribed", "bounced", "complained",
                                  "meeting_booked"])
def test_every_stop_event_is_accepted(stop: str) -> None:
    d = parse_definition(definition(rules={"min_days_apart": 0, "stop_on": [stop]}))
    assert d.rules.stop_on == (stop,)


def test_shipped_defaults_load_with_the_documented_cadence() -> None:
    defs = load_definitions()
    hot, burning = defs["PERSONALIZED_EMAIL"], defs["PHONE_AND_EMAIL"]
    assert len(hot.touches) == 5
    assert {t.channel for t in hot.touches} == {"email"}
    assert hot.rules.min_days_apart == 3
    assert (len(hot.touches) - 1) * hot.rules.min_days_apart <= 14
    assert burning.rules.min_days_apart < hot.rules.min_days_apart
    assert {t.channel for t in burning.touches} == {"email", "phone_task"}
    assert hot.rules.cooling_off_days == burning.rules.cooling_off_days == 3
    assert all(isinstance(d, SequenceDefinition) and d.sequence_id for d in defs.values())


def _as_file(value: Any) -> Any:
    """A definition as a file holds it: each touch names a template, with no digest."""
    if not isinstance(value, dict):
        return value
    return {strategy: d | {"touches": [
        {k: v for k, v in t.items() if k != "content_digest"} | {"template": f"t/touch-{n}"}
        for n, t in enumerate(d["touches"], 1)]} if isinstance(d, dict) and "touches" in d
        else d for strategy, d in value.items()}


def _write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "sequences.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(_as_file(content)))
    (tmp_path / "templates" / "t").mkdir(parents=True, exist_ok=True)
    for n in range(1, 4):
        for suffix in (".subject.txt", ".txt", ".html"):
            (tmp_path / "templates" / "t" / f"touch-{n}{suffix}").write_text(
                f"Touch {n} for {{{{ company_name }}}}\n")
    return path


def test_loader_round_trip(tmp_path: Path) -> None:
    raw = yaml.safe_load(DEFAULT_DEFINITIONS_PATH.read_text())
    path = tmp_path / "sequences.yaml"
    path.write_text(yaml.safe_dump(raw))
    shutil.copytree(DEFAULT_DEFINITIONS_PATH.parent / "templates", tmp_path / "templates")
    assert load_definitions(path) == load_definitions()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: [unclosed", "not valid YAML"),
        ("- just a list", "expected a mapping"),
        ({"PERSONALIZED_EMAIL": definition()}, "no definition for PHONE_AND_EMAIL"),
        ({"PERSONALIZED_EMAIL": definition(), "PHONE_AND_EMAIL": definition(),
          "NEWSLETTER_CONTENT": definition()}, "unknown strategy NEWSLETTER_CONTENT"),
        ({"PERSONALIZED_EMAIL": definition(),
          "PHONE_AND_EMAIL": definition(touches=[touch(1), touch(3)])},
         "PHONE_AND_EMAIL.touches: indexes must be 1..2"),
        ({"PERSONALIZED_EMAIL": definition(rules={"min_days_apart": "soon", "stop_on": []}),
          "PHONE_AND_EMAIL": definition()}, "PERSONALIZED_EMAIL.rules.min_days_apart"),
    ],
)
def test_loader_rejects_bad_files(tmp_path: Path, content: Any, message: str) -> None:
    with pytest.raises(InvalidSequenceDefinition, match=message):
        load_definitions(_write(tmp_path, content))


def test_loader_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidSequenceDefinition, match="cannot read"):
        load_definitions(tmp_path / "absent.yaml")
