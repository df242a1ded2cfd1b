"""A hub worker in a child process, as an operator runs it (the demo and the e2e tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.embedded import free_port


@dataclass
class WorkerProcess:
    """A hub worker in a child process, as an operator would run it."""

    proc: subprocess.Popen[bytes]
    web_port: int
    log_path: Path

    @classmethod
    def start(
        cls,
        bootstrap: str,
        database_url: str,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        port = free_port()
        env = {
            **os.environ,
            "OUTREACH_KAFKA_BOOTSTRAP": bootstrap,
            "OUTREACH_DATABASE_URL": database_url,
            "OUTREACH_WEB_PORT": str(port),
            **(extra_env or {}),
        }
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = log_path.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return cls(proc, port, log_path)

    def health(self) -> dict[str, object] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/health", timeout=1) as r:
                return dict(orjson.loads(r.read()))
        except Exception:
            return None

    def wait_ready(self, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.proc.returncode}; see {self.log_path}"
                )
            body = self.health()
            if body and body.get("status") == "ok":
                return time.monotonic() - started
            time.sleep(0.25)
        raise TimeoutError(f"worker not ready after {timeout}s; see {self.log_path}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode
