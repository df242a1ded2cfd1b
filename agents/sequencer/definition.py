"""Sequence definitions: ordered touches plus the rules that pace and stop them (seed 002)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import Field, ValidationError, field_validator

from agents.sequencer.exceptions import InvalidSequenceDefinition, describe_validation_error
from agents.sequencer.templates import TouchTemplate, read_template
from streams.contracts.models.base import Frozen

Channel = Literal["email", "phone_task"]
StopEvent = Literal["replied", "unsubscribed", "bounced", "complained", "meeting_booked"]
STOP_EVENTS: frozenset[str] = frozenset(get_args(StopEvent))
# Only tiers that get personal outreach have a sequence; WARM leads get content, not touches.
SequenceStrategy = Literal["PERSONALIZED_EMAIL", "PHONE_AND_EMAIL"]
SEQUENCE_STRATEGIES: tuple[str, ...] = get_args(SequenceStrategy)
# The shipped defaults (packaging must include this file as package data).
DEFAULT_DEFINITIONS_PATH = Path(__file__).with_name("sequences.yaml")
# A definitions file's touch templates live in `templates/` beside it (see templates.py).
TEMPLATES_DIR = "templates"


class Touch(Frozen):
    """One step of a sequence. ``content_digest`` pins the approved content (``algo:value``):
    computed from the touch's ``template`` files when a definitions file loads, never written
    by hand there. ``subject`` is the touch's title as people read the file (the email's
    subject line itself is rendered from the template)."""

    index: int = Field(ge=1)
    channel: Channel
    principal: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    content_digest: str = Field(pattern=r"^[A-Za-z0-9_-]+:\S+$")
    template: str | None = Field(default=None, min_length=1)


class SequenceRules(Frozen):
    """Pacing and stop conditions.

    ``min_days_apart`` paces this sequence's own touches; ``cooling_off_days`` holds after a
    contact of the same person by any *other* sequence (across campaigns).
    """

    min_days_apart: float = Field(ge=0)
    stop_on: tuple[StopEvent, ...]
    cooling_off_days: float = Field(default=0, ge=0)

    @field_validator("stop_on")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise ValueError(f"stop_on lists {', '.join(duplicates)} more than once")
        return value


class SequenceDefinition(Frozen):
    sequence_id: str | None = Field(default=None, min_length=1)
    touches: tuple[Touch, ...] = Field(min_length=1)
    rules: SequenceRules

    @field_validator("touches")
    @classmethod
    def _contiguous_indexes(cls, touches: tuple[Touch, ...]) -> tuple[Touch, ...]:
        # The projection records touches by index, so a gap or reorder would make
        # "the touch after N" ambiguous; reject it at load time rather than mid-sequence.
        indexes = [t.index for t in touches]
        if indexes != list(range(1, len(indexes) + 1)):
            raise ValueError(
                f"indexes must be 1..{len(indexes)} contiguous and ascending, got {indexes}"
            )
        return touches

    def touch(self, index: int) -> Touch:
        """The touch with this 1-based index."""
        return self.touches[index - 1]


def parse_definition(data: Any, where: str = "sequence_definition") -> SequenceDefinition:
    """Validate one definition; errors name the field under ``where``."""
    if not isinstance(data, dict):
        raise InvalidSequenceDefinition(f"{where}: expected a mapping, got {type(data).__name__}")
    try:
        return SequenceDefinition.model_validate(data)
    except ValidationError as exc:
        raise InvalidSequenceDefinition(describe_validation_error(exc, where)) from exc


def templates_root(path: str | Path = DEFAULT_DEFINITIONS_PATH) -> Path:
    return Path(path).parent / TEMPLATES_DIR


def _with_digests(data: Any, root: Path, where: str) -> Any:
    """The definition with each touch's ``content_digest`` computed from its template files."""
    if not isinstance(data, dict) or not isinstance(data.get("touches"), list):
        return data  # parse_definition names what is wrong
    touches = []
    for n, touch in enumerate(data["touches"]):
        at = f"{where}.touches[{n}]"
        if not isinstance(touch, dict):
            touches.append(touch)
            continue
        if "content_digest" in touch:
            raise InvalidSequenceDefinition(
                f"{at}.content_digest: computed from the touch's template; name the template "
                "instead (template: <sequence>/touch-<n>)")
        ref = touch.get("template")
        if not isinstance(ref, str):
            raise InvalidSequenceDefinition(f"{at}.template: required (a template reference)")
        template = read_template(root, ref, html=touch.get("channel") == "email")
        touches.append(touch | {"content_digest": template.digest})
    return data | {"touches": touches}


def load_templates(path: str | Path = DEFAULT_DEFINITIONS_PATH
                   ) -> dict[tuple[str, int], TouchTemplate]:
    """Every touch's template of a definitions file, by (sequence_id, touch index): what the
    sender renders. Read again from disk, so its digests are those of the files as they are."""
    definitions = load_definitions(path)
    root = templates_root(path)
    return {(d.sequence_id or strategy.lower(), t.index):
            read_template(root, t.template, html=t.channel == "email")
            for strategy, d in definitions.items() for t in d.touches if t.template}


def load_definitions(path: str | Path = DEFAULT_DEFINITIONS_PATH) -> dict[str, SequenceDefinition]:
    """Read a YAML file keyed by tier strategy; both personal-outreach strategies must be there.
    Each touch names its template (under `templates/` beside the file), whose digest becomes
    the touch's ``content_digest``."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidSequenceDefinition(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise InvalidSequenceDefinition(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidSequenceDefinition(
            f"{path}: expected a mapping of strategy -> definition, got {type(raw).__name__}"
        )
    unknown = sorted(str(k) for k in raw if k not in SEQUENCE_STRATEGIES)
    if unknown:
        raise InvalidSequenceDefinition(
            f"{path}: unknown strategy {', '.join(unknown)} "
            f"(expected {', '.join(SEQUENCE_STRATEGIES)})"
        )
    # A missing strategy would strand every lead of that tier at runtime; fail at start-up.
    missing = [s for s in SEQUENCE_STRATEGIES if s not in raw]
    if missing:
        raise InvalidSequenceDefinition(f"{path}: no definition for {', '.join(missing)}")
    root = templates_root(path)
    return {s: parse_definition(_with_digests(raw[s], root, f"{path}:{s}"), f"{path}:{s}")
            for s in SEQUENCE_STRATEGIES}
