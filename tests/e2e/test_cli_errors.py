"""What an operator sees when the broker or PostgreSQL cannot be reached, or a record is too
large: one `error:` line naming what failed (never a password), no traceback, a non-zero exit,
and within a bound."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from streams.embedded import free_port

pytestmark = pytest.mark.e2e

SECRET = "s3cr3t-pw"
USER = "hub_owner"


def run(args: list[str], tmp_path: Path, **env: str) -> tuple[int, str, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    clean |= {"OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_WEB_PORT": str(free_port()),
              **env}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "streams.cli", *args], env=clean,
                          capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return done.returncode, done.stderr.decode(), time.monotonic() - started


def assert_one_error_line(stderr: str, *names: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    for bad in ("Traceback", "Unclosed", SECRET, USER):
        assert bad not in stderr, stderr
    for name in names:
        assert name in errors[0], stderr
    return errors[0]


@pytest.fixture
def batch_file(tmp_path: Path) -> Path:
    path = tmp_path / "batch.json"
    path.write_bytes(orjson.dumps({"batch_id": "b-1", "records": []}))
    return path


@pytest.mark.parametrize("command", ["produce", "topics create", "worker", "up"])
def test_an_unreachable_broker_is_one_line(
    command: str, batch_file: Path, tmp_path: Path
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    args = command.split()
    if command == "produce":
        args += ["social-xpress.lead-batch.ready", str(batch_file)]
    code, stderr, took = run(args, tmp_path, OUTREACH_KAFKA_BOOTSTRAP=closed,
                             OUTREACH_DATABASE_URL=f"postgresql://{USER}:{SECRET}@127.0.0.1/x")
    assert code == 2, stderr
    assert_one_error_line(stderr, closed, "Kafka broker")
    assert took < 20


@pytest.mark.parametrize("command", ["db migrate", "worker"])
def test_an_unreachable_database_is_one_line_without_credentials(
    command: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"postgresql://{USER}:{SECRET}@127.0.0.1:{port}/outreach_prod"
    code, stderr, took = run(command.split(), tmp_path, OUTREACH_KAFKA_BOOTSTRAP=kafka_bootstrap,
                             OUTREACH_DATABASE_URL=url, OUTREACH_TOPIC_PARTITIONS="1")
    assert code == 2, stderr
    line = assert_one_error_line(stderr, f"127.0.0.1:{port}", "outreach_prod")
    assert "connection refused" in line
    assert took < 20


def test_a_record_above_the_topic_limit_is_refused_before_connecting(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(orjson.dumps({"batch_id": "b-huge", "records": ["x" * 17_000_000]}))
    code, stderr, _ = run(["produce", "social-xpress.lead-batch.ready", str(path)], tmp_path,
                          OUTREACH_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}")
    assert code == 2, stderr
    assert_one_error_line(stderr, "16,777,216 bytes", "max_message_bytes")
    assert stderr.count("\n") == 1


@pytest.mark.parametrize("what", ["broker", "database"])
def test_a_server_that_never_answers_is_given_up_on_within_the_bound(
    what: str, batch_file: Path, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        if what == "broker":
            args = ["produce", "social-xpress.lead-batch.ready", str(batch_file)]
            env = {"OUTREACH_KAFKA_BOOTSTRAP": address}
        else:
            args = ["db", "migrate"]
            env = {"OUTREACH_DATABASE_URL": f"postgresql://{USER}:{SECRET}@{address}/hub"}
        code, stderr, took = run(args, tmp_path, **env)
    assert code == 2, stderr
    assert_one_error_line(stderr, address, "no answer within 10 s")
    assert took < 15  # aiokafka would wait 40 s per attempt, asyncpg 60 s
