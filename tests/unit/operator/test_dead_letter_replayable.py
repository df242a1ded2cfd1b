"""A dead letter says whether it can be replayed faithfully: whole JSON record and known key."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from agents.dead_letter import dead_letter
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.records import MAX_RECORD_BYTES, SourceRef

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SOURCE = SourceRef("outreach.send.requests", 2, 17)


def letter(raw: bytes, key: bytes | None = None, key_known: bool = False) -> OutreachErrorRaised:
    event = dead_letter(
        "sender", raw, SOURCE, RuntimeError("boom"), NOW, STABLE_IDS, key=key, key_known=key_known
    )
    assert isinstance(event.emits[0].event, OutreachErrorRaised)
    return event.emits[0].event


def test_a_whole_json_record_with_its_key_is_replayable() -> None:
    e = letter(b'{"a": 1}', key=b"ck-1", key_known=True)
    assert (e.replayable, e.source_key, e.record) == (True, "ck-1", {"a": 1})


def test_an_unkeyed_record_is_replayable_without_a_key() -> None:
    e = letter(b'{"a": 1}', key=None, key_known=True)
    assert (e.replayable, e.source_key) == (True, None)


def test_unknown_key_not_json_too_large_or_binary_key_is_not_replayable() -> None:
    assert not letter(b'{"a": 1}').replayable  # callers that do not pass the key
    assert not letter(b"not json", key=b"k", key_known=True).replayable
    big = orjson.dumps({"x": "y" * (MAX_RECORD_BYTES + 1)})
    assert not letter(big, key=b"k", key_known=True).replayable
    assert not letter(b'{"a": 1}', key=b"\xff\xfe", key_known=True).replayable


def test_dead_letters_written_before_the_new_fields_still_read() -> None:
    old = letter(b'{"a": 1}').model_dump(mode="json")
    del old["source_key"], old["replayable"]
    e = OutreachErrorRaised.model_validate(old)
    assert (e.replayable, e.source_key) == (False, None)


def test_letters_of_two_items_of_one_record_are_two_letters_each_replayable() -> None:
    # Two packed lead cards of one record that the gate failed on: the sink dedupes letters on
    # their event id, so each item's letter has its own, and holds its item as a record.
    def of_item(item: str, raw: bytes) -> OutreachErrorRaised:
        d = dead_letter("gate", raw, SOURCE, RuntimeError("boom"), NOW, STABLE_IDS,
                        key=b"cmp_1", key_known=True, item=item)
        assert isinstance(d.emits[0].event, OutreachErrorRaised)
        return d.emits[0].event

    a, b = of_item("card-a", b'{"cards": ["a"]}'), of_item("card-b", b'{"cards": ["b"]}')
    whole = letter(b'{"cards": ["a", "b"]}', key=b"cmp_1", key_known=True)
    assert len({a.event_id, b.event_id, whole.event_id}) == 3
    assert (a.replayable, a.source_key, a.record) == (True, "cmp_1", {"cards": ["a"]})
    assert a.subject_id == f"{SOURCE}#card-a" and b.subject_id == f"{SOURCE}#card-b"
