"""Log lines about an event carry its ids; the JSON format is one parseable object a line."""

from __future__ import annotations

import io
import json
import logging

import orjson
import pytest

from streams.contracts.exceptions import ConfigurationError
from streams.kernel.logging_setup import (
    EventContextFilter,
    apply_format,
    bind_record,
    ids_in,
    log_context,
    unbind,
)
from streams.kernel.settings import Settings

PROCESS = "outreach-execution-sequence-20261123-0a1b2c3d"


def captured(log_format: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    logger = logging.getLogger(f"test-logging-{log_format}")
    logger.handlers[:] = [logging.StreamHandler(out)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    apply_format(logger, log_format)  # type: ignore[arg-type]
    return logger, out


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_ids_are_read_from_the_raw_value_of_either_json_spelling() -> None:
    doc = {"event_id": "e1", "correlation_id": "corr-cmp_1", "process_id": PROCESS,
           "nested": {"correlation_id": "other"}}
    for raw in (orjson.dumps(doc), json.dumps(doc).encode()):
        ids = ids_in(raw)
        assert ids is not None
        assert (ids.correlation_id, ids.process_id) == ("corr-cmp_1", PROCESS)


def test_a_lead_batch_is_correlated_by_its_batch_id() -> None:
    ids = ids_in(b'{"batch_id": "sxp_1", "records": [{"lead_id": "l-1"}]}')
    assert ids is not None and (ids.correlation_id, ids.process_id) == ("batch:sxp_1", None)


def test_no_ids_from_a_value_that_has_none_or_is_not_an_id() -> None:
    assert ids_in(b"{not json") is None
    assert ids_in(b'{"lead_id": "l-1"}') is None
    assert ids_in(None) is None
    # An upstream that puts an address or free text there does not get it logged.
    assert ids_in(b'{"correlation_id": "jane.doe@example.com"}') is None
    assert ids_in(b'{"correlation_id": "Jane Doe"}') is None


def test_json_lines_about_a_bound_record_carry_its_ids_and_others_do_not() -> None:
    logger, out = captured("json")
    logger.info("before")
    token = bind_record(orjson.dumps({"correlation_id": "corr-a", "process_id": PROCESS}))
    try:
        logger.warning("handling %s", "it")
    finally:
        unbind(token)
    with log_context("record:t/0/5", PROCESS):
        logger.error("dead-lettered")
    logger.info("after")
    before, handling, dead, after = lines(out)
    assert before.keys() == after.keys() == {"time", "level", "logger", "message"}
    assert handling["message"] == "handling it" and handling["level"] == "WARNING"
    assert (handling["correlation_id"], handling["process_id"]) == ("corr-a", PROCESS)
    assert (dead["correlation_id"], dead["process_id"]) == ("record:t/0/5", PROCESS)


def test_a_traceback_stays_inside_its_json_line() -> None:
    logger, out = captured("json")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    (line,) = lines(out)
    assert "ValueError: boom" in line["exc_info"]


def test_text_format_is_kept_and_gets_the_filter() -> None:
    logger, out = captured("text")
    handler = logger.handlers[0]
    assert any(isinstance(f, EventContextFilter) for f in handler.filters)
    apply_format(logger, "text")  # applied twice (the CLI, then the worker): one filter
    assert sum(isinstance(f, EventContextFilter) for f in handler.filters) == 1
    logger.info("plain")
    assert out.getvalue() == "plain\n"


def test_log_format_setting() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"OUTREACH_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        Settings.from_env({"OUTREACH_LOG_FORMAT": "xml"})
