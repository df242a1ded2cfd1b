"""The log format (text or JSON lines) and the event a log line is about.

A log line written while a record is handled carries that record's `correlation_id` and
`process_id`. The shells bind the record being handled (`bind_record`) or ids they already know
(`log_context`); a filter on every handler copies them onto each log record. Binding a record
only stores a reference: its ids are read from the raw value when a line is actually written,
so the hot path pays one context-variable write per record and no parse.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, Literal, NamedTuple

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# The fields every JSON line has; a line about an event adds correlation_id and process_id,
# and `exc_info` when it carries a traceback.
JSON_FIELDS = ("asctime", "levelname", "name", "message")


class EventIds(NamedTuple):
    correlation_id: str | None
    process_id: str | None


# Either the ids (EventIds) or the raw value of the record being handled (read lazily).
_CURRENT: ContextVar[Any] = ContextVar("outreach_log_event", default=None)

# Ids are opaque tokens: a value outside this alphabet (an address, free text) is not logged.
_SAFE = rb"([A-Za-z0-9_.:/+=-]{1,128})"
_CORRELATION = re.compile(rb'"correlation_id"\s*:\s*"' + _SAFE + rb'"')
_PROCESS = re.compile(rb'"process_id"\s*:\s*"' + _SAFE + rb'"')
_BATCH = re.compile(rb'"batch_id"\s*:\s*"' + _SAFE + rb'"')


def ids_in(raw: Any) -> EventIds | None:
    """The first `correlation_id` / `process_id` of a raw JSON value, without parsing it.

    Envelopes put both near the top, so the first occurrence is the event's own. A lead batch
    has neither: its events' correlation is `batch:<batch_id>` until a score is known.
    """
    if not isinstance(raw, bytes | bytearray):
        return None
    c, p = _CORRELATION.search(raw), _PROCESS.search(raw)
    correlation = c.group(1).decode() if c else None
    if correlation is None and (b := _BATCH.search(raw)):
        correlation = f"batch:{b.group(1).decode()}"
    if correlation is None and p is None:
        return None
    return EventIds(correlation, p.group(1).decode() if p else None)


def decision_ids(decision: Any) -> EventIds:
    """The ids of a decision's first emitted event (a shell that logs after deciding)."""
    event = decision.emits[0].event if decision.emits else None
    return EventIds(getattr(event, "correlation_id", None), getattr(event, "process_id", None))


def current_ids() -> EventIds | None:
    current = _CURRENT.get()
    return current if isinstance(current, EventIds) or current is None else ids_in(current)


def bind_record(raw: Any) -> Token[Any]:
    """Log lines from here on are about the record whose raw value this is (until reset)."""
    return _CURRENT.set(raw)


def unbind(token: Token[Any]) -> None:
    _CURRENT.reset(token)


@contextmanager
def log_context(
    correlation_id: str | None = None, process_id: str | None = None, *, raw: Any = None
) -> Iterator[None]:
    """Lines written inside are about this event: given ids, else those of `raw`."""
    if correlation_id is None and process_id is None:
        token = _CURRENT.set(raw)
    else:
        token = _CURRENT.set(EventIds(correlation_id, process_id))
    try:
        yield
    finally:
        _CURRENT.reset(token)


class EventContextFilter(logging.Filter):
    """Copies the bound event's ids onto each record (a handler filter, so that records of
    every logger that reach the handler get them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        if ids is not None:
            if ids.correlation_id is not None:
                record.correlation_id = ids.correlation_id
            if ids.process_id is not None:
                record.process_id = ids.process_id
        return True


def formatter(log_format: LogFormat) -> logging.Formatter:
    if log_format == "json":
        from pythonjsonlogger.orjson import OrjsonFormatter

        return OrjsonFormatter(
            list(JSON_FIELDS), rename_fields={"asctime": "time", "levelname": "level",
                                              "name": "logger"})
    return logging.Formatter(TEXT_FORMAT)


def apply_format(logger: logging.Logger, log_format: LogFormat) -> None:
    """Give every handler of `logger` the format and the event filter. The Faust worker calls
    this after mode has replaced the root logger's handlers with its own."""
    fmt = formatter(log_format)
    for handler in logger.handlers:
        if type(handler).__name__ == "SpinnerHandler":  # faust's progress spinner prints nothing
            continue
        if log_format == "json":  # text keeps mode's own (coloured on a terminal)
            handler.setFormatter(fmt)
        if not any(isinstance(f, EventContextFilter) for f in handler.filters):
            handler.addFilter(EventContextFilter())


def configure(log_format: LogFormat, level: int = logging.INFO) -> None:
    """The CLI's logging before a worker (if any) takes over the root logger."""
    root = logging.getLogger()
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(EventContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("pgserver").setLevel(logging.WARNING)
