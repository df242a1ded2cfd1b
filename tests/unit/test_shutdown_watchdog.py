"""The last resort of a stop: a process whose main thread is stuck is ended when the bound has
passed, with one line saying so, a non-zero exit, and the embedded processes stopped first."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from streams.shutdown import EXIT_STOP_TIMEOUT

STUCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from streams.shutdown import StopWatchdog, before_a_forced_exit

    marker = Path(sys.argv[1])
    watchdog = StopWatchdog(0.5)
    with before_a_forced_exit(lambda: marker.write_text("stopped")):
        watchdog.arm("SIGTERM")
        time.sleep(30)  # stuck, as a worker waiting on records that never come
""")


def test_a_stuck_process_is_ended_at_the_bound(tmp_path: Path) -> None:
    marker = tmp_path / "embedded-stopped"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", STUCK, str(marker)], capture_output=True,
                          timeout=20)
    took = time.monotonic() - started
    assert done.returncode == EXIT_STOP_TIMEOUT != 0
    assert took < 5
    assert done.stderr.decode().splitlines() == [
        "error: the worker did not stop within 0.5 s of SIGTERM; stopping now "
        "(records not yet committed are delivered again on restart)"]
    assert marker.read_text() == "stopped"


def test_a_disarmed_watchdog_lets_the_process_finish(tmp_path: Path) -> None:
    script = STUCK.replace("time.sleep(30)", "watchdog.disarm(); time.sleep(1)")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m")],
                          capture_output=True, timeout=20)
    assert (done.returncode, done.stderr) == (0, b"")
    assert not (tmp_path / "m").exists()
