"""The seed-002 harness cases through the real command, `outreach-hub sequencer decide`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

CASES = yaml.safe_load((Path(__file__).parent / "harness_cases.yaml").read_text())
EXPECTED = {"happy_next_touch": "sealed", "stop_replied": "sealed",
            "missing_state_needs_agent": "failure"}


def decide(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "streams.cli", "sequencer", "decide", *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_harness_case_through_the_cli(case: dict, tmp_path: Path) -> None:
    path = tmp_path / "inputs.yaml"
    path.write_text(yaml.safe_dump(case["inputs"]))  # YAML, as the harness writes it
    done = decide("", "--input", str(path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == EXPECTED[case["name"]] == case["expect"]["status"]
    for field, value in (case["expect"].get("receipt") or {}).items():
        assert out["receipt"][field] == value
    if case["name"] == "happy_next_touch":
        assert out["next_touch_packet"]["touch"]["index"] == 3
    if case["name"] == "stop_replied":
        assert out["next_touch_packet"] is None and out["stop_state"]["reason"] == "replied"
    if case["name"] == "missing_state_needs_agent":
        assert out["escalation"]["reason"] == "projection_missing"


def test_a_whole_case_as_json_on_stdin_is_accepted() -> None:
    done = decide(json.dumps(CASES[0]))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "sealed"


@pytest.mark.parametrize("stdin", ["not json: [", "{}", json.dumps({"inputs": {"now": 1}})])
def test_invalid_input_exits_2_with_a_reason(stdin: str) -> None:
    done = decide(stdin)
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.startswith("error: ")
