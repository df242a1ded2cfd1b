"""What the e2e tier's modules share: a broker of their own (the topic names are fixed by the
contract, so tests must not share one) and, for modules that keep one worker for all their
tests, a broker, a database and a folder per module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from streams.embedded import EmbeddedBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[str]:
    b = EmbeddedBroker(log_path=tmp_path / "tansu.log").start()
    yield b.bootstrap
    b.stop()


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
               ) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def module_broker(module_tmp: Path) -> Iterator[str]:
    b = EmbeddedBroker(log_path=module_tmp / "tansu.log").start()
    yield b.bootstrap
    b.stop()


@pytest.fixture(scope="module")
async def module_database(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
