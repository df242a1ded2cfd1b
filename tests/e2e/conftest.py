"""What the e2e tier's modules that keep one worker for all their tests share: a broker, a
database and a folder per module (a test's own broker and database are tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from streams.embedded import EmbeddedBroker
from tests.conftest import fresh_database


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
    async for url in fresh_database(postgres_server_url):
        yield url
