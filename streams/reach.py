"""Connecting to the broker and PostgreSQL within a bound, or one line that says what could not
be reached. Never the database password, nor its user: the line goes to terminals and logs."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
from aiokafka.errors import KafkaError

from streams.contracts.exceptions import Unreachable

# Long enough for a broker or database across a WAN or still starting; short enough that an
# operator with a wrong address hears about it before they give up on the command.
CONNECT_TIMEOUT_S = 10.0

Client = TypeVar("Client")


def database_target(url: str) -> str:
    """'PostgreSQL database "outreach" at db.internal:5432', from a URL, with no credentials."""
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        host = parts.hostname or query.get("host", ["localhost (PGHOST)"])[0]
        port = parts.port or int(query.get("port", ["5432"])[0])
    except ValueError:
        return "PostgreSQL (the URL in OUTREACH_DATABASE_URL is malformed)"
    name = parts.path.lstrip("/") or "(default)"
    where = host if host.startswith("/") else f"{host}:{port}"
    return f'PostgreSQL database "{name}" at {where}'


def _why(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return "authentication failed"  # its message names the user
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return "no such database"
    if isinstance(exc, asyncpg.PostgresError):
        return f"{type(exc).__name__} (SQLSTATE {exc.sqlstate})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.split(" (", 1)[0].lower()
    return type(exc).__name__


async def connect_database(url: str, timeout: float = CONNECT_TIMEOUT_S) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        why = _why(exc, timeout)
        raise Unreachable(f"cannot connect to {database_target(url)}: {why}") from None
    except ValueError:  # asyncpg's DSN parser; its message may quote the URL, password included
        raise Unreachable(f"cannot connect to {database_target(url)}: malformed URL") from None


@asynccontextmanager
async def kafka_client(
    client: Client, bootstrap: str, timeout: float = CONNECT_TIMEOUT_S
) -> AsyncIterator[Client]:
    """Start an aiokafka producer, consumer or admin client, and close it on the way out, also
    when it never started (aiokafka warns "Unclosed AIOKafkaProducer" otherwise)."""
    c: Any = client
    close = c.close if hasattr(c, "close") else c.stop
    # aiokafka logs each failed bootstrap attempt as an ERROR; the caller reports it once.
    kafka_log = logging.getLogger("aiokafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        async with asyncio.timeout(timeout):
            await c.start()
    except (KafkaError, OSError, TimeoutError) as exc:
        await close()
        why = _why(exc, timeout) if not isinstance(exc, KafkaError) else "no broker answered"
        raise Unreachable(f"cannot reach the Kafka broker at {bootstrap}: {why}") from None
    finally:
        kafka_log.setLevel(level)
    try:
        yield client
    finally:
        await close()
