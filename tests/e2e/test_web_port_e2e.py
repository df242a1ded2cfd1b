"""The worker's web port as an operator meets it: where it listens and what Prometheus scrapes
from it.

One worker (every stage) serves all the tests of this module.
"""

from __future__ import annotations

import http.client
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics
from streams.embedded import EmbeddedBroker
from streams.process import WorkerProcess
from streams.runtime import prepare
from streams.settings import Settings

pytestmark = pytest.mark.e2e



@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-port")


@pytest.fixture(scope="module")
def broker(module_tmp: Path) -> Iterator[str]:
    # A broker of its own: the topic names are fixed by the contract, so tests must not share.
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


@pytest.fixture(scope="module")
async def worker(broker: str, module_database: str, module_tmp: Path
                 ) -> AsyncIterator[WorkerProcess]:
    await prepare(Settings(topic_partitions=2), broker, module_database)
    log = module_tmp / "worker.log"
    proc = WorkerProcess.start(broker, module_database, log, {
        "OUTREACH_APP_ID": f"web-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(module_tmp / "var"), "OUTREACH_WEB_HOST": "127.0.0.1"})
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()[-3000:]


def request(worker: WorkerProcess, target: str, method: str = "GET"
            ) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed (the answer itself is under test)."""
    conn = http.client.HTTPConnection("127.0.0.1", worker.web_port, timeout=10)
    try:
        conn.request(method, target)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_the_web_port_listens_only_where_the_setting_says(worker: WorkerProcess) -> None:
    process = psutil.Process(worker.proc.pid)
    listening = {c.laddr.ip for p in (process, *process.children(recursive=True))
                 for c in p.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == worker.web_port}
    assert listening == {"127.0.0.1"}


def scrape(worker: WorkerProcess) -> dict[str, Any]:
    status, headers, body = request(worker, "/metrics")
    assert status == 200, body[:500]
    assert headers["Content-Type"] == CONTENT_TYPE_LATEST
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def test_metrics_scrape_serves_the_hubs_metrics(worker: WorkerProcess) -> None:
    families = scrape(worker)
    declared = {f.name for f in metrics.REGISTRY.collect()}
    assert declared and declared <= set(families)
