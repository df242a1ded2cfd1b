"""Migrations of schema ``outreach`` against a real PostgreSQL: once each, safe to race."""

from __future__ import annotations

import asyncio
import importlib

import asyncpg
import pytest

from streams.sink import MigrationError, available_migrations, migrate

# streams.sink re-exports the function migrate(), which shadows the module of the same name.
migrate_module = importlib.import_module("streams.sink.migrate")

pytestmark = pytest.mark.integration

EXPECTED_TABLES = {
    "schema_migrations", "audit_log", "lead_cards", "gate_verdicts", "outreach_errors",
    "campaigns", "campaign_events", "sequences", "sequence_events", "send_log",
    "engagement_events", "reply_tracking", "suppression_list", "dead_letter_replays",
    "campaign_command_rejections",
    "campaign_health",
}


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'outreach'"
    )
    return {r["table_name"] for r in rows}


async def test_files_are_numbered_and_ordered() -> None:
    versions = [version for version, _ in available_migrations()]
    assert versions[0] == "0001_init"
    assert versions == sorted(versions)


async def test_applies_every_file_once_then_nothing(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        first = await migrate(conn)
        assert first == [version for version, _ in available_migrations()]
        assert await _tables(conn) == EXPECTED_TABLES

        assert await migrate(conn) == []
        recorded = await conn.fetch(
            "SELECT version, applied_at FROM outreach.schema_migrations ORDER BY version"
        )
        assert [r["version"] for r in recorded] == first
        assert all(r["applied_at"] is not None for r in recorded)
    finally:
        await conn.close()


async def test_accepts_a_pool(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        assert await migrate(pool) == [version for version, _ in available_migrations()]
        assert await migrate(pool) == []
    finally:
        await pool.close()


async def test_concurrent_workers_apply_each_file_once(database_url: str) -> None:
    workers = [await asyncpg.connect(database_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in workers))
        applied = [v for result in results for v in result]
        # Every file applied by exactly one worker; the others found it done and succeeded too.
        assert sorted(applied) == [version for version, _ in available_migrations()]
        count = await workers[0].fetchval("SELECT count(*) FROM outreach.schema_migrations")
        assert count == len(available_migrations())
    finally:
        for conn in workers:
            await conn.close()


async def test_a_failing_file_is_rolled_back_and_not_recorded(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = available_migrations()
    broken = "CREATE TABLE outreach.half_done (id int); SELECT no_such_function();"
    monkeypatch.setattr(
        migrate_module, "available_migrations", lambda: [*good, ("9999_broken", broken)]
    )
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(MigrationError, match="9999_broken"):
            await migrate(conn)
        # The files before it stay applied; the broken one left neither a table nor a record.
        assert await _tables(conn) == EXPECTED_TABLES
        versions = await conn.fetch("SELECT version FROM outreach.schema_migrations")
        assert {r["version"] for r in versions} == {v for v, _ in good}

        monkeypatch.setattr(migrate_module, "available_migrations", lambda: good)
        assert await migrate(conn) == []
    finally:
        await conn.close()
