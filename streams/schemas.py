"""schemas/*.json are generated from the pydantic models; `--check` reports drift.

The files belong to the source checkout (they document the contract and are not read at run
time), so the default directory is the checkout's `schemas/`; an installed wheel has none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streams.contracts.exceptions import ConfigurationError
from streams.contracts.models import MODELS

SOURCE_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = SOURCE_ROOT / "schemas"


def _checkout_schemas(directory: Path | None) -> Path:
    if directory is not None:
        return directory
    if not (SOURCE_ROOT / "pyproject.toml").is_file():
        raise ConfigurationError(
            "schemas/ lives in the source checkout: run this from an editable install"
        )
    return SCHEMA_DIR


def _untagged_unions_plain(schema: dict[str, Any]) -> dict[str, Any]:
    """A topic union whose single item is written without its tag (packed topics: the record
    of one item is what it was before packing) keeps its `oneOf`, which tells the two apart by
    their required fields, but not pydantic's OpenAPI `discriminator`: a tool that honours it
    would refuse the untagged item."""
    tag = schema.get("discriminator", {}).get("propertyName")
    if tag is None:
        return schema
    defs = schema.get("$defs", {})
    branches = [defs.get(ref.rsplit("/", 1)[-1], {}) for ref in
                schema["discriminator"].get("mapping", {}).values()]
    if all(tag in branch.get("properties", {}) for branch in branches):
        return schema
    return {k: v for k, v in schema.items() if k != "discriminator"}


def render() -> dict[str, str]:
    out = {}
    for name, model in sorted(MODELS.items()):
        schema = _untagged_unions_plain(
            model.model_json_schema(mode="serialization"))  # type: ignore[attr-defined]
        schema["$id"] = f"https://outreach-hub.invalid/schemas/{name}.json"
        out[f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def generate(directory: Path | None = None) -> list[str]:
    directory = _checkout_schemas(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in render().items():
        path = directory / filename
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(filename)
    return written


def drift(directory: Path | None = None) -> list[str]:
    """Files that differ from what the models generate (missing ones included)."""
    directory = _checkout_schemas(directory)
    rendered = render()
    stale = [
        f
        for f, text in rendered.items()
        if not (directory / f).exists() or (directory / f).read_text() != text
    ]
    extra = [p.name for p in directory.glob("*.json") if p.name not in rendered]
    return sorted(stale + extra)
