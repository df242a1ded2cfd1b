"""One embedded runtime per data directory: the lock refuses a second holder, and a holder that
dies (even by SIGKILL) leaves nothing that refuses the next start."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from streams.contracts.exceptions import EmbeddedRuntimeError
from streams.embedded import LOCK_FILE, hold_data_dir


def test_a_second_holder_is_refused_with_the_directory_named(tmp_path: Path) -> None:
    with hold_data_dir(tmp_path / "var"):
        with (pytest.raises(EmbeddedRuntimeError, match="already running") as refused,
              hold_data_dir(tmp_path / "var")):
            pass
        assert str(tmp_path / "var") in str(refused.value)
        assert "\n" not in str(refused.value)
    with hold_data_dir(tmp_path / "var"):  # released on the way out
        pass


def test_another_directory_is_not_locked(tmp_path: Path) -> None:
    with hold_data_dir(tmp_path / "a"), hold_data_dir(tmp_path / "b"):
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from streams.embedded import hold_data_dir\n"
         "with hold_data_dir(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
         str(tmp_path)],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(EmbeddedRuntimeError), hold_data_dir(tmp_path):
            pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        assert (tmp_path / LOCK_FILE).exists()
        with hold_data_dir(tmp_path):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
