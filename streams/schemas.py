"""schemas/*.json are generated from the pydantic models; `--check` reports drift."""

from __future__ import annotations

import json
from pathlib import Path

from streams.contracts.models import MODELS
from streams.contracts.topics import PROJECT_ROOT

SCHEMA_DIR = PROJECT_ROOT / "schemas"


def render() -> dict[str, str]:
    out = {}
    for name, model in sorted(MODELS.items()):
        schema = model.model_json_schema(mode="serialization")  # type: ignore[attr-defined]
        schema["$id"] = f"https://outreach-hub.invalid/schemas/{name}.json"
        out[f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def generate(directory: Path = SCHEMA_DIR) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in render().items():
        path = directory / filename
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(filename)
    return written


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """Files that differ from what the models generate (missing ones included)."""
    rendered = render()
    stale = [
        f
        for f, text in rendered.items()
        if not (directory / f).exists() or (directory / f).read_text() != text
    ]
    extra = [p.name for p in directory.glob("*.json") if p.name not in rendered]
    return sorted(stale + extra)
