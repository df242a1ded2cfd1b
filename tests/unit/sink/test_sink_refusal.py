"""What a refused sink write says: PostgreSQL's SQLSTATE and the names of the schema objects,
never the values of the refused row (they end up in dead-letter reasons and logs)."""

from __future__ import annotations

import asyncpg
import pytest

from streams.sink.exceptions import SinkWriteError, refusal

EMAIL = "jane.doe@acmeroofing.com"


def postgres_error(**fields: str) -> asyncpg.PostgresError:
    """The exception asyncpg raises for these ErrorResponse fields (the protocol's codes)."""
    return asyncpg.PostgresError.new(fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"C": "23514", "n": "lead_cards_disposition_check", "t": "lead_cards",
             "M": 'new row for relation "lead_cards" violates check constraint '
                  '"lead_cards_disposition_check"',
             "D": f"Failing row contains (7, lead-0001, BOGUS, {EMAIL})."},
            "CheckViolationError (SQLSTATE 23514): constraint lead_cards_disposition_check, "
            "table lead_cards",
        ),
        (
            {"C": "23505", "n": "suppression_list_pkey", "t": "suppression_list",
             "M": 'duplicate key value violates unique constraint "suppression_list_pkey"',
             "D": f"Key (email)=({EMAIL}) already exists."},
            "UniqueViolationError (SQLSTATE 23505): constraint suppression_list_pkey, "
            "table suppression_list",
        ),
        (
            {"C": "23502", "t": "send_log", "c": "contact_key",
             "M": 'null value in column "contact_key" violates not-null constraint',
             "D": f"Failing row contains (null, {EMAIL})."},
            "NotNullViolationError (SQLSTATE 23502): table send_log, column contact_key",
        ),
        (
            # Data errors quote the value in the message itself, not only in DETAIL.
            {"C": "22P02", "M": f'invalid input syntax for type uuid: "{EMAIL}"'},
            "InvalidTextRepresentationError (SQLSTATE 22P02)",
        ),
    ],
)
def test_refusal_keeps_the_code_and_names_and_drops_the_values(
    fields: dict[str, str], expected: str
) -> None:
    exc = postgres_error(**fields)
    assert EMAIL in str(exc)  # what asyncpg's own message would have carried
    assert refusal(exc) == expected
    error = SinkWriteError("lead_cards", exc)
    assert str(error) == f"writing outreach.lead_cards failed: {expected}"
    assert EMAIL not in str(error)
    assert error.sqlstate == fields["C"]


def test_an_error_without_postgres_fields_is_named_by_its_type() -> None:
    assert refusal(TimeoutError(EMAIL)) == "TimeoutError"
