"""The worker's memory fixes (streams/kernel/allocator.py): changelog writes in exact-size
bytes, and when freed memory is handed back to the system."""

from __future__ import annotations

import tracemalloc

import pytest
from faust.serializers import codecs

from streams.kernel.allocator import (
    TRIM_MIN_FREE_BYTES,
    ExactJson,
    Glibc,
    install,
    should_trim,
    trim_once,
)

# A stored person as the sequencer's table holds it (~500 characters of JSON in a str).
PERSON = '[3,4,["agg-0001","bench-email",' + '"x",' * 110 + '1.0]]'


def held_per_value(dumps, value: object, n: int = 500) -> float:
    """Bytes still allocated per encoded value while `n` of them are kept (as Faust's producer
    buffer keeps the table writes waiting for their changelog)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [dumps(value) for _ in range(n)]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == n
    return held / n


def test_a_waiting_changelog_value_holds_about_its_own_size() -> None:
    exact = held_per_value(ExactJson().dumps, PERSON)
    assert exact < 2 * len(PERSON)  # Faust's own json codec: 4 KiB per value, whatever its size
    assert held_per_value(ExactJson().dumps, "0123456789abcdef" * 2) < 200


def test_the_changelog_bytes_are_faust_json_bytes() -> None:
    """Changelogs written before, and workers of an older version, read the same records."""
    for value in (PERSON, "a" * 32, {"k": [1, 2.5, None, "é"]}, 7):
        assert ExactJson().dumps(value) == codecs.json().dumps(value)
        assert ExactJson().loads(ExactJson().dumps(value)) == value


def test_install_puts_it_under_the_name_tables_use() -> None:
    original = codecs.codecs["json"]

    class App:
        def timer(self, *_args: object, **_kw: object) -> object:
            return lambda fn: fn

    try:
        install(App(), trim_seconds=0)
        assert isinstance(codecs.get_codec("json"), ExactJson)
    finally:
        codecs.register("json", original)


@pytest.mark.parametrize(("free", "trim"), [
    (None, True),  # the allocator cannot tell: trimming is how to find out
    (0, False),
    (TRIM_MIN_FREE_BYTES - 1, False),
    (TRIM_MIN_FREE_BYTES, True),
    (300 * 2**20, True),
])
def test_trims_only_when_enough_is_free(free: int | None, trim: bool) -> None:
    assert should_trim(free) is trim


def test_trim_once_on_this_machine() -> None:
    glibc = Glibc()
    if not glibc.available:
        pytest.skip("not glibc: trimming is a no-op here")
    assert glibc.free_bytes() is not None
    assert trim_once(glibc, minimum=2**62) is None  # never that much free
    took = trim_once(glibc, minimum=0)
    assert took is not None and took < 1.0
