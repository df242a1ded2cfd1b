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

    The message names the table and what PostgreSQL refused (see `refusal`), never the
    offending values: they may hold contact data, and the message ends up in dead-letter rows.
    """

    def __init__(self, table: str, cause: BaseException) -> None:
        self.table = table
        self.sqlstate: str | None = getattr(cause, "sqlstate", None)
        super().__init__(f"writing outreach.{table} failed: {refusal(cause)}")


# The parts of a PostgreSQL error that are names from the schema, never values of the row.
_NAMED_FIELDS = (
    ("constraint", "constraint_name"),
    ("table", "table_name"),
    ("column", "column_name"),
    ("type", "data_type_name"),
)


def refusal(cause: BaseException) -> str:
    """PostgreSQL's refusal by SQLSTATE and names only, e.g. ``CheckViolationError (SQLSTATE
    23514) constraint lead_cards_disposition_check, table lead_cards``.

    The message text and DETAIL are left out on purpose: DETAIL quotes the refused row
    ("Failing row contains (...)", "Key (email)=(...) already exists") and data errors quote the
    value in the message itself ('invalid input syntax for type uuid: "..."').
    """
    sqlstate = getattr(cause, "sqlstate", None)
    head = type(cause).__name__ + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
    names = [
        f"{label} {value}"
        for label, attr in _NAMED_FIELDS
        if (value := getattr(cause, attr, None))
    ]
    return f"{head}: {', '.join(names)}" if names else head
