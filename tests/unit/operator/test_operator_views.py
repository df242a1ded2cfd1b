"""The pure parts of the operator tools: masking, keys from addresses, tables, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from agents.sequencer.enrollment import contact_key_for
from streams.contracts.exceptions import InvalidInput
from streams.operator.dlq_view import (
    DeadLetter,
    list_table,
    mask_emails,
    parse_since,
    replay_refusal,
    replay_value,
    show_text,
    summary_json,
)
from streams.operator.state_view import DurableRecord, contact_key_of, summary_text

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def letter(**changes: object) -> DeadLetter:
    base = dict(
        id="6f1c2e8a-0000-5000-8000-000000000001", occurred_at=NOW, stage="sender",
        code="DLQ-PROCESSING-FAILED", severity="high", reason="KeyError: 'x'",
        source_topic="outreach.send.requests", source_partition=1, source_offset=7,
        subject_id="outreach.send.requests/1/7", correlation_id="c-1",
        record={"to_email": "Jane.Doe@acme.com", "first_name": "Jane", "note": "cc bob@x.io"},
        source_key="ab" * 16, replayable=True,
    )
    return DeadLetter(**(base | changes))  # type: ignore[arg-type]


def test_mask_emails_hides_the_person_keeps_the_domain_everywhere() -> None:
    masked = mask_emails({"a@b.com": ["x", "Jane.Doe@acme.com"], "n": 1, "t": "to z@q.org."})
    assert masked == {"***@b.com": ["x", "***@acme.com"], "n": 1, "t": "to ***@q.org."}


def test_an_address_hashes_to_the_sequencers_key_whatever_its_case_or_spaces() -> None:
    assert contact_key_of(" Jane.Doe@ACME.com ") == contact_key_for("jane.doe@acme.com")
    key = contact_key_for("jane.doe@acme.com")
    assert contact_key_of(key.upper()) == key
    with pytest.raises(InvalidInput):
        contact_key_of("jane")


def test_since_takes_durations_and_iso_dates() -> None:
    assert parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("2025-03-01", NOW) == datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        parse_since("yesterday", NOW)


def test_the_list_shows_source_and_reason_but_never_the_record() -> None:
    text = list_table([letter(), letter(id="x" * 36, replayable=False)])
    assert "outreach.send.requests/1/7" in text and "DLQ-PROCESSING-FAILED" in text
    assert "Jane" not in text and "acme" not in text
    assert "2 dead letter(s)" in text
    assert "record" not in summary_json(letter()) and "Jane" not in str(summary_json(letter()))


def test_show_masks_emails_unless_revealed() -> None:
    masked = show_text(letter(), reveal=False)
    assert "***@acme.com" in masked and "Jane.Doe@acme.com" not in masked
    assert "bob@x.io" not in masked
    assert "Jane.Doe@acme.com" in show_text(letter(), reveal=True)


def test_replay_is_refused_once_done_or_when_the_record_is_not_whole() -> None:
    assert replay_refusal(letter()) is None
    done = replay_refusal(letter(replayed_at=NOW, replayed_to="t/0/1"))
    assert done is not None and "already replayed" in done and "\n" not in done
    partial = replay_refusal(letter(replayable=False))
    assert partial is not None and "does not hold the whole source record" in partial


def test_the_replayed_value_is_the_record_as_json() -> None:
    assert orjson.loads(replay_value({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
    assert replay_value({"n": 2**70}) == b'{"n":1180591620717411303424}'


def test_state_summary_without_live_state_names_why_and_no_address() -> None:
    durable = DurableRecord(suppression={"reason": "unsubscribed", "created_at": NOW})
    text = summary_text("ab" * 16, durable, None, "not read (--no-live)")
    assert "unsubscribed since 2025-03-04" in text and "not read (--no-live)" in text
    assert "sequences         none recorded" in text
