"""The shape of one sink table: its columns, its key, how an event becomes its row, and how a
batch of rows reaches it: binary COPY into a per-connection staging table, then one
``INSERT ... SELECT ... ON CONFLICT`` from there.

COPY is what makes the sink's volume: unnest() arrays as parameters cost asyncpg a type check
per array element, which made half of a batch's time; COPY encodes rows, and lets a ragged
column (a text[] per row) travel as itself. The staging tables are temporary and emptied at
every commit, so the ON CONFLICT statement is still where a replay is found out and the
command tag still says how many rows really changed."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
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
    type: str  # the staging column's type (the stored column's, or one it converts from)
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
    def stage(self) -> str:
        """The staging table's name (one per table and event type, on each connection)."""
        return f"sink_stage_{self.name}_{self.event_type.__name__.lower()}"

    @property
    def stage_ddl(self) -> str:
        cols = ", ".join(f"{c.name} {c.type}" for c in self.columns)
        return f"CREATE TEMPORARY TABLE {self.stage} ({cols}) ON COMMIT DELETE ROWS"

    @property
    def sql(self) -> str:
        """The staged rows into the table, in key order (a stable lock order across sinks)."""
        names = ", ".join(c.name for c in self.columns)
        exprs = ", ".join(c.select or f"u.{c.name}" for c in self.columns)
        order = ", ".join(f"u.{k}" for k in self.key)
        return (
            f"INSERT INTO outreach.{self.name} AS cur ({names}) "
            f"SELECT {exprs} FROM {self.stage} AS u ORDER BY {order} {self.on_conflict}"
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def records(self, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        """Row tuples for COPY into ``stage``."""
        as_record = itemgetter(*self.column_names)
        return [as_record(row) for row in rows]


def _cols(spec: str) -> tuple[Column, ...]:
    # "name type, name type" keeps the table definitions below readable.
    return tuple(Column(*item.split()) for item in spec.split(","))

