"""Loads topics.yaml, the single source of truth for topic names, keys, schemas and policies."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streams.contracts.exceptions import ConfigurationError, TopicNotDeclared
from streams.contracts.models import MODELS

# Package data, so that an installed wheel finds it. In the source tree it is a symlink to the
# top-level topics.yaml (the one file people edit); building a wheel copies its content.
TOPICS_FILE = Path(__file__).with_name("topics.yaml")
# Kafka's own default for a topic's largest record batch (message.max.bytes), 1 MiB.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576


class TopicSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str
    name: str = Field(min_length=1)
    key: str
    value: str
    partitions: int = Field(ge=1)
    replication_factor: int = Field(ge=1)
    cleanup_policy: Literal["delete", "compact"]
    retention_ms: int
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    copartitioned_with: tuple[str, ...] = ()
    # The largest record (a batch of one) producers may publish and consumers must fetch.
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024)

    @property
    def key_fields(self) -> tuple[str, ...]:
        """A topic carrying a union may be keyed by a different field per member
        (``batch_id or campaign_id``): each record by the first of them it has."""
        return tuple(k.strip() for k in self.key.split(" or "))

    @property
    def schema_file(self) -> str:
        return f"schemas/{self.value}.json"

    def config(self) -> dict[str, str]:
        """Broker-side topic configs for CreateTopics."""
        return {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(self.retention_ms),
            "max.message.bytes": str(self.max_message_bytes),
        }


class TopicCatalog:
    def __init__(self, specs: dict[str, TopicSpec]) -> None:
        self._specs = specs

    def __getitem__(self, alias: str) -> TopicSpec:
        try:
            return self._specs[alias]
        except KeyError:
            raise TopicNotDeclared(
                f"topic alias {alias!r} is not declared in topics.yaml"
            ) from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def max_message_bytes(self) -> int:
        """The largest record any topic takes: what the hub's clients must send and fetch."""
        sizes = (spec.max_message_bytes for spec in self._specs.values())
        return max(sizes, default=DEFAULT_MAX_MESSAGE_BYTES)

    def by_name(self, name: str) -> TopicSpec:
        for spec in self._specs.values():
            if spec.name == name:
                return spec
        raise TopicNotDeclared(f"topic {name!r} is not declared in topics.yaml")


def parse_catalog(document: object, partitions_override: int | None = None) -> TopicCatalog:
    if not isinstance(document, dict) or not isinstance(document.get("topics"), dict):
        raise ConfigurationError("topics.yaml must be a mapping with a 'topics' mapping")
    defaults = document.get("defaults") or {}
    specs: dict[str, TopicSpec] = {}
    for alias, raw in document["topics"].items():
        merged = {**defaults, **(raw or {}), "alias": alias}
        if partitions_override is not None:
            merged["partitions"] = partitions_override
        try:
            spec = TopicSpec.model_validate(merged)
        except ValidationError as exc:
            raise ConfigurationError(f"topics.yaml: topic {alias!r}: {exc}") from exc
        if spec.value not in MODELS:
            raise ConfigurationError(f"topics.yaml: topic {alias!r}: unknown model {spec.value!r}")
        specs[alias] = spec
    names = [s.name for s in specs.values()]
    if len(set(names)) != len(names):
        raise ConfigurationError("topics.yaml: a topic name is declared twice")
    for spec in specs.values():
        for other in spec.copartitioned_with:
            if other not in specs:
                raise ConfigurationError(
                    f"topics.yaml: {spec.alias} copartitioned with unknown {other}"
                )
            if specs[other].partitions != spec.partitions:
                raise ConfigurationError(
                    f"topics.yaml: {spec.name} and {specs[other].name} are joined on one key "
                    "and must have the same partition count"
                )
    return TopicCatalog(specs)


@lru_cache(maxsize=8)
def load_catalog(path: Path = TOPICS_FILE, partitions_override: int | None = None) -> TopicCatalog:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from exc
    return parse_catalog(document, partitions_override)


def markdown_table(catalog: TopicCatalog) -> str:
    """The README's topics table, rendered from topics.yaml (a test keeps the README current)."""
    lines = [
        "| topic | key | value (schema) | partitions | cleanup / retention | from → to |",
        "|---|---|---|---|---|---|",
    ]
    for spec in catalog:
        retention = "forever" if spec.retention_ms < 0 else f"{spec.retention_ms // 86_400_000} d"
        lines.append(
            f"| `{spec.name}` | {spec.key} | [{spec.value}]({spec.schema_file}) | "
            f"{spec.partitions} | {spec.cleanup_policy} / {retention} | "
            f"{', '.join(spec.producers)} → {', '.join(spec.consumers)} |"
        )
    return "\n".join(lines)
