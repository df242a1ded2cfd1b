"""Numbered SQL migrations for schema ``outreach``, applied once each, safely from many workers.

Files live in ``streams/sink/migrations`` as ``NNNN_name.sql`` (package data of ``streams``);
the version recorded is the file name without ``.sql``. Every step runs under one
transaction-scoped advisory lock, so workers starting together queue up instead of racing, and
each file commits together with its ``schema_migrations`` row or not at all.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from typing import Any

import asyncpg

from streams.sink.exceptions import MigrationError

log = logging.getLogger(__name__)

# The bytes of "outreach" as a bigint: a fixed key no other advisory-lock user will pick by chance.
MIGRATION_LOCK_KEY = int.from_bytes(b"outreach", "big")

_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS outreach;
CREATE TABLE IF NOT EXISTS outreach.schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


def available_migrations() -> list[tuple[str, str]]:
    """(version, sql) of every migration file, in the order they must be applied."""
    folder = resources.files("streams.sink").joinpath("migrations")
    found: dict[str, tuple[str, str]] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_name.sql")
        number = match.group(1)
        if number in found:
            # Two files with one number would apply in an order that depends on the file system.
            raise MigrationError(
                f"migrations {found[number][0]!r} and {entry.name!r} share number {number}"
            )
        found[number] = (entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
    return [found[number] for number in sorted(found)]


async def migrate(conn_or_pool: asyncpg.Connection | asyncpg.Pool) -> list[str]:
    """Apply the migrations not applied yet; return their versions (empty when up to date)."""
    if isinstance(conn_or_pool, asyncpg.Pool):
        async with conn_or_pool.acquire() as conn:
            return await _migrate(conn)
    return await _migrate(conn_or_pool)


async def _migrate(conn: Any) -> list[str]:
    # Read the files first: a misnamed file must stop start-up before anything is touched.
    migrations = available_migrations()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        # CREATE ... IF NOT EXISTS is not race-free on its own; the lock makes it so.
        await conn.execute(_BOOTSTRAP)
    applied: list[str] = []
    for version, sql in migrations:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
            # Checked under the lock: another worker may have applied it while this one waited.
            done = await conn.fetchval(
                "SELECT 1 FROM outreach.schema_migrations WHERE version = $1", version
            )
            if done:
                continue
            try:
                await conn.execute(sql)
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"migration {version} failed: {exc}") from exc
            await conn.execute(
                "INSERT INTO outreach.schema_migrations (version, applied_at) VALUES ($1, now())",
                version,
            )
        applied.append(version)
        log.info("applied migration %s", version)
    return applied
