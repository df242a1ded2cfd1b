"""`outreach-hub up` with no configuration: the embedded broker, PostgreSQL and a worker, in one
foreground process that a person stops with Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from confluent_kafka import Producer

from streams.embedded import free_port
from streams.process import WorkerProcess
from streams.sample import lead_batch

pytestmark = pytest.mark.e2e


def _port_open(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


async def test_up_runs_everything_and_ctrl_c_stops_all_three(tmp_path: Path) -> None:
    web_port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OUTREACH_KAFKA") and not k.startswith("OUTREACH_DATABASE")}
    env.update({"OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_WEB_PORT": str(web_port),
                "OUTREACH_APP_ID": "up-test", "OUTREACH_TOPIC_PARTITIONS": "2"})
    log = (tmp_path / "up.log").open("w+b")
    proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "up"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        bootstrap = database_url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (bootstrap and database_url):
            text = (tmp_path / "up.log").read_text()
            if m := re.search(r"kafka bootstrap: (\S+)", text):
                bootstrap = m.group(1)
            if m := re.search(r"database url:\s+(\S+)", text):
                database_url = m.group(1)
            assert proc.poll() is None, text
            time.sleep(0.2)
        assert bootstrap and database_url, (tmp_path / "up.log").read_text()
        assert re.match(r"127\.0\.0\.1:\d+$", bootstrap)

        worker = WorkerProcess(proc, web_port, tmp_path / "up.log")
        worker.wait_ready(60)

        batch = lead_batch("sxp_up_001", cards=20, companies=3)
        producer = Producer({"bootstrap.servers": bootstrap})
        producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                         value=json.dumps(batch).encode())
        assert producer.flush(10) == 0

        # The printed URL (password masked; the embedded server has none) reaches the database.
        rows = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and rows == 0:
            conn = await asyncpg.connect(database_url)
            try:
                rows = await conn.fetchval(
                    "SELECT count(*) FROM outreach.audit_log WHERE batch_id = 'sxp_up_001'")
            finally:
                await conn.close()
            time.sleep(0.3)
        assert rows == 1

        pg_pid = int((tmp_path / "var" / "pgdata" / "postmaster.pid").read_text().split()[0])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, (tmp_path / "up.log").read_text()[-3000:]
        assert not _port_open(bootstrap), "the embedded broker still listens after Ctrl-C"
        with pytest.raises(ProcessLookupError):
            for _ in range(50):
                os.kill(pg_pid, 0)
                time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_second_up_in_the_same_directory_refuses_and_the_first_keeps_running(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OUTREACH_KAFKA") and not k.startswith("OUTREACH_DATABASE")}
    env.update({"OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_APP_ID": "up-twice",
                "OUTREACH_TOPIC_PARTITIONS": "1"})
    web_port = free_port()
    log = (tmp_path / "first.log").open("w+b")
    first = subprocess.Popen([sys.executable, "-m", "streams.cli", "up"], stdout=log,
                             stderr=subprocess.STDOUT,
                             env={**env, "OUTREACH_WEB_PORT": str(web_port)})
    try:
        bootstrap = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not bootstrap:
            text = (tmp_path / "first.log").read_text()
            if m := re.search(r"kafka bootstrap: (\S+)", text):
                bootstrap = m.group(1)
            assert first.poll() is None, text
            time.sleep(0.2)
        assert bootstrap, (tmp_path / "first.log").read_text()
        WorkerProcess(first, web_port, tmp_path / "first.log").wait_ready(90)

        started = time.monotonic()
        second = subprocess.Popen([sys.executable, "-m", "streams.cli", "up"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env={**env, "OUTREACH_WEB_PORT": str(free_port())})
        try:
            out, err = second.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            _interrupt(second)
            pytest.fail("a second `up` on the same data directory kept running")
        took = time.monotonic() - started
        lines = err.decode().strip().splitlines()
        assert second.returncode != 0
        assert len(lines) == 1 and lines[0].startswith("error: "), err.decode()
        assert "already running" in lines[0] and str(tmp_path / "var") in lines[0]
        assert out == b""
        assert took < 15, f"the second up took {took:.1f}s to refuse"
        # Refused before starting anything: no second broker, the first one is untouched.
        assert first.poll() is None
        assert _port_open(bootstrap)
        assert WorkerProcess(first, web_port, tmp_path / "first.log").health() is not None
        assert (tmp_path / "first.log").read_text().count("kafka bootstrap:") == 1

        first.send_signal(signal.SIGINT)
        assert first.wait(60) == 0, (tmp_path / "first.log").read_text()[-3000:]
    finally:
        _interrupt(first)


def _interrupt(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C first, so that `up` stops the broker and PostgreSQL it started; then kill."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
