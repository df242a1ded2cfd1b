"""The shape of one sink table: its columns, its key, how an event becomes its row, and the
one ``INSERT ... SELECT FROM unnest(...)`` that writes a batch of rows in one round trip."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from streams.contracts.models import (
    HubEvent,
)

Row = dict[str, Any]


def to_json(value: Any) -> str:
    """JSON text for a jsonb parameter."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        # orjson refuses integers beyond 64 bits; a verbatim card may still hold one.
        return json.dumps(value, ensure_ascii=False, default=str)


def _without_nul(value: Any) -> Any:
    # PostgreSQL text and jsonb cannot hold U+0000; a dead letter may (it is whatever arrived),
    # and one unstorable diagnostic must not wedge the sink.
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    array_type: str  # element type of the unnest() parameter
    select: str | None = None  # expression over u.<name> when the stored value needs converting


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    event_type: type[HubEvent]
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # sort order (a stable lock order across concurrent sinks)
    to_row: Callable[[Any], Row | None]
    on_conflict: str = "ON CONFLICT DO NOTHING"
    # Upserts cannot touch one row twice in a statement, so rows sharing a key are folded first.
    fold: Callable[[Row, Row], Row] | None = None

    @property
    def sql(self) -> str:
        names = ", ".join(c.name for c in self.columns)
        params = ", ".join(f"${i}::{c.array_type}[]" for i, c in enumerate(self.columns, 1))
        exprs = ", ".join(c.select or f"u.{c.name}" for c in self.columns)
        return (
            f"INSERT INTO outreach.{self.name} AS cur ({names}) "
            f"SELECT {exprs} FROM unnest({params}) AS u({names}) {self.on_conflict}"
        )

    def arguments(self, rows: Sequence[Row]) -> list[list[Any]]:
        """Column-wise parameter lists for ``sql``."""
        return [[row[c.name] for row in rows] for c in self.columns]


def _cols(spec: str) -> tuple[Column, ...]:
    # "name type, name type" keeps the table definitions below readable.
    return tuple(Column(*item.split()) for item in spec.split(","))

