"""A refused row's reason (logged, and stored as an error row) names the table and PostgreSQL's
error, never the row's values: asyncpg repeats them in DETAIL and in its argument errors."""

from __future__ import annotations

import asyncpg

from streams.sink.exceptions import SinkWriteError


def test_detail_with_the_key_values_is_dropped_and_the_constraint_kept() -> None:
    cause = asyncpg.UniqueViolationError(
        'duplicate key value violates unique constraint "suppression_list_pkey"')
    cause.detail = "Key (email)=(zelphine.quorvath@cmp-hot.example) already exists."
    reason = str(SinkWriteError("suppression_list", cause))
    assert "zelphine" not in reason
    assert reason.startswith("writing outreach.suppression_list failed: UniqueViolationError")


def test_quoted_argument_and_literal_values_are_replaced() -> None:
    client_side = asyncpg.DataError(
        "invalid input for query argument $3 in element #0 of executemany() sequence: "
        "'zelphine.quorvath@cmp-hot.example' (expected a datetime, got 'str')")
    server_side = asyncpg.InvalidTextRepresentationError(
        'invalid input syntax for type uuid: "Zelphine Quorvath"')
    for cause in (client_side, server_side):
        reason = str(SinkWriteError("send_log", cause))
        assert "zelphine" not in reason.lower()
