"""One PostgreSQL connection for an operator command, with failures told in one line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from streams.contracts.exceptions import HubError


class OperatorError(HubError):
    """An operator command cannot do what was asked (told in one line, exit 2)."""


@asynccontextmanager
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    try:
        conn = await asyncpg.connect(database_url, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        # The exception text can carry the URL (and so the password): name only its type.
        raise OperatorError(f"cannot reach PostgreSQL ({type(exc).__name__})") from None
    try:
        yield conn
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
        raise OperatorError(
            "the database schema is older than this command: run `outreach-hub db migrate`"
        ) from None
    finally:
        await conn.close()
