"""Errors the sink package raises on purpose (migrations and batched writes)."""

from __future__ import annotations

from streams.contracts.exceptions import HubError


class SinkError(HubError):
    """Base class of every error the PostgreSQL sink raises on purpose."""


class MigrationError(SinkError):
    """A migration file is misnamed, or applying it failed (its transaction was rolled back)."""


class UnsupportedEvent(SinkError):
    """The sink was handed an event type it has no table for; nothing of the batch was written."""

    def __init__(self, event_type: str, event_id: str) -> None:
        self.event_type = event_type
        self.event_id = event_id
        super().__init__(
            f"PostgresSink cannot write events of type {event_type!r} (event_id={event_id!r}); "
            "the batch was not written"
        )


class SinkWriteError(SinkError):
    """PostgreSQL refused a batch; the whole batch was rolled back.

    The message names the table and PostgreSQL's error, never the offending values (they may
    hold contact data).
    """

    def __init__(self, table: str, cause: BaseException) -> None:
        self.table = table
        super().__init__(f"writing outreach.{table} failed: {type(cause).__name__}: {cause}")
