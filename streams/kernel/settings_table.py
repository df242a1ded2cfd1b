"""The README's configuration table, rendered from the settings model (`outreach-hub settings
table`; tests/unit/test_readme_settings_table.py keeps the README current). A field without a
description is an error here, so a new setting cannot go undocumented."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from streams.kernel.settings_sources import LOADER, setting_names

START = "<!-- settings-table:start -->"
END = "<!-- settings-table:end -->"
_PLAIN = {str: "string", int: "integer", float: "number", bool: "bool", Path: "path",
          SecretStr: "string, **secret**"}
_BOUNDS = ((annotated_types.Ge, "≥"), (annotated_types.Gt, ">"), (annotated_types.Le, "≤"),
           (annotated_types.Lt, "<"))


def _kind(annotation: Any) -> str:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        return " / ".join(f"`{a}`" for a in get_args(annotation))
    if get_origin(annotation) is tuple:
        return f"list of {_kind(args[0])}, comma-separated"
    if args and len(args) < len(get_args(annotation)):  # X | None
        return _kind(args[0]) if len(args) == 1 else " or ".join(_kind(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " / ".join(f"`{m.value}`" for m in annotation)
    return _PLAIN.get(annotation, getattr(annotation, "__name__", str(annotation)))


def type_text(field: FieldInfo) -> str:
    bounds = [f"{sign} {getattr(m, type(m).__name__.lower())}"
              for m in field.metadata for kind, sign in _BOUNDS if isinstance(m, kind)]
    return _kind(field.annotation) + (f" ({', '.join(bounds)})" if bounds else "")


def default_text(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "embedded default (sandbox only)"  # published in the source: never a real key
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return f"`{','.join(str(v) for v in value)}`"
    if value == "":
        return "empty"
    if isinstance(value, float):
        return f"{value:g}"
    return f"`{value}`" if isinstance(value, str | Path) else str(value)


def rows(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    out = [(name, kind, default, text) for name, (kind, default, text) in LOADER.items()]
    for name, (field, _) in setting_names(model).items():
        if not field.description:
            raise ValueError(f"{name} has no description (Field(description=...))")
        out.append((name, type_text(field), default_text(field), field.description))
    return out


def markdown_table(model: type[BaseModel]) -> str:
    lines = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, kind, default, text in rows(model):
        escaped = text.replace("|", "\\|")
        lines.append(f"| `{name}` | {kind} | {default} | {escaped} |")
    return "\n".join(lines)


def replace_in(text: str, table: str) -> str:
    """`text` with the table between the markers replaced."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"
