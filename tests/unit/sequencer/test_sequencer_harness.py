"""The three seed-002 harness cases through run_case(), and its input validation."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents.sequencer.exceptions import InvalidSequenceInput
from agents.sequencer.harness import run_case
from streams.contracts.exceptions import InvalidInput

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "harness_cases.yaml").read_text(encoding="utf-8")
)
BY_NAME = {case["name"]: case for case in CASES}
OUTPUT_KEYS = {"status", "receipt", "decision", "append_event", "next_touch_packet",
               "escalation", "stop_state"}


def inputs(name: str) -> dict[str, Any]:
    return copy.deepcopy(BY_NAME[name]["inputs"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_seed_case_meets_its_expectation(case: dict[str, Any]) -> None:
    result = run_case(copy.deepcopy(case["inputs"]))
    assert set(result) == OUTPUT_KEYS
    assert json.loads(json.dumps(result)) == result  # JSON-able as is
    for key, expected in case["expect"].items():
        assert result[key] == expected
    assert result["receipt"]["schema"] == "runx.receipt.v1"


def test_happy_case_hands_off_touch_3() -> None:
    result = run_case(inputs("happy_next_touch"))
    packet = result["next_touch_packet"]
    assert packet == {
        "packet": "runx.outreach.next_touch.v1",
        "aggregate_id": "seq-acme-001:contact-jane",
        "touch": {"index": 3, "channel": "email", "principal": "sales-dev", "audience": "buyer",
                  "subject": "Relevant workflow", "content_digest": "sha256:touch3"},
        "contact_ref": {"principal": "sales-dev", "audience": "jane@example.invalid",
                        "channel": "email"},
        "idempotency_key": "outreach-sequencer:seq-acme-001:contact-jane:touch3",
        "due_at": "2026-06-30T12:00:00Z",
    }
    append = result["append_event"]
    assert append["store_id"] == "runx.outreach.sequence_state.v1"
    assert (append["type"], append["touch_index"]) == ("touch_requested", 3)
    assert (append["expected_version"], append["version"]) == (7, 8)
    assert append["idempotency_key"] == packet["idempotency_key"]
    assert result["decision"]["kind"] == "next_touch"
    assert result["stop_state"] is None and result["escalation"] is None


def test_stop_replied_emits_no_packet() -> None:
    result = run_case(inputs("stop_replied"))
    assert result["next_touch_packet"] is None
    assert result["stop_state"] == {"reason": "replied", "stopped_at": "2026-06-27T12:00:00Z",
                                    "last_touch_index": 2}
    assert result["decision"]["kind"] == "stop"
    append = result["append_event"]
    assert (append["type"], append["version"], append["reason"]) == ("sequence_stopped", 5,
                                                                      "replied")


def test_missing_state_escalates_to_an_agent() -> None:
    result = run_case(inputs("missing_state_needs_agent"))
    assert result["receipt"] == {"schema": "runx.receipt.v1", "state": "failure",
                                 "disposition": "escalated", "reason_code": "projection_missing"}
    assert result["escalation"]["reason"] == "projection_missing"
    assert result["escalation"]["needs"] == "agent"
    assert result["escalation"]["aggregate_id"] == "seq-acme-003:contact-missing"
    assert result["append_event"] is None and result["next_touch_packet"] is None


def test_version_conflict_says_both_versions() -> None:
    case = inputs("happy_next_touch")
    case["expected_version"] = 6
    result = run_case(case)
    assert result["status"] == "failure"
    assert result["receipt"]["reason_code"] == "version_conflict"
    assert "6" in result["escalation"]["message"] and "7" in result["escalation"]["message"]


def test_too_early_is_a_sealed_wait() -> None:
    case = inputs("happy_next_touch")
    case["now"] = "2026-06-27T12:00:00Z"
    result = run_case(case)
    assert result["status"] == "sealed" and result["decision"]["kind"] == "wait"
    assert result["decision"]["wait_until"] == "2026-06-28T12:00:00Z"
    assert result["append_event"] is None and result["next_touch_packet"] is None


def test_cross_campaign_cooling_off_input() -> None:
    case = inputs("happy_next_touch") | {"last_contact_at": "2026-06-29T12:00:00Z"}
    case["sequence_definition"]["rules"]["cooling_off_days"] = 3
    result = run_case(case)
    assert result["decision"]["wait_reason"] == "cooling_off"
    assert result["decision"]["wait_until"] == "2026-07-02T12:00:00Z"


def test_infers_the_touch_index_when_absent() -> None:
    case = inputs("happy_next_touch")
    del case["current_touch_index"]
    assert run_case(case)["next_touch_packet"]["touch"]["index"] == 3


def _set(path: str, value: Any) -> dict[str, Any]:
    case = inputs("happy_next_touch")
    *parents, leaf = path.split(".")
    target: Any = case
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return case


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("aggregate_id", _DELETE, "aggregate_id: Field required"),
        ("idempotency_key", _DELETE, "idempotency_key"),
        ("store_id", _DELETE, "store_id"),
        ("engagement_projection", _DELETE, "engagement_projection"),
        ("sequence_definition", _DELETE, "sequence_definition"),
        ("now", _DELETE, "now"),
        ("now", "2026-06-30T12:00:00", "now: timestamp must carry a time zone"),
        ("now", "yesterday", "now"),
        ("expected_version", "7", "expected_version"),
        ("expected_version", 7.5, "expected_version"),
        ("expected_version", -1, "expected_version"),
        ("current_touch_index", "two", "current_touch_index"),
        ("contact_ref.principal", _DELETE, "contact_ref.principal"),
        ("contact_ref.channel", "fax", "contact_ref.channel"),
        ("contact_ref", "jane", "contact_ref"),
        ("engagement_projection.version", _DELETE, "engagement_projection.version"),
        ("engagement_projection.operation_result.status", "error",
         "engagement_projection.operation_result.status"),
        ("engagement_projection.store_id", "other.store", "pinned store_id"),
        ("engagement_projection.events.0.occurred_at", _DELETE,
         "engagement_projection.events[0].occurred_at"),
        ("engagement_projection.events.1.touch_index", 0,
         "engagement_projection.events[1].touch_index"),
        ("sequence_definition.touches.0.index", 9, "sequence_definition.touches"),
        ("sequence_definition.rules.stop_on", ["opened"], "sequence_definition.rules.stop_on"),
        ("unexpected_field", 1, "unexpected_field"),
    ],
)
def test_bad_input_names_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidSequenceInput, match=re.escape(message)) as info:
        run_case(_set(path, value))
    assert isinstance(info.value, InvalidInput)


def test_inputs_must_be_a_mapping() -> None:
    with pytest.raises(InvalidSequenceInput, match="inputs: expected a mapping"):
        run_case([])  # type: ignore[arg-type]
