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


# Run in a child: the threshold is process-wide, and the test needs glibc's own to start from.
THRESHOLD_PROBE = """
import ctypes, sys
from streams.kernel.allocator import Glibc, _MallInfo2
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = _MallInfo2
def mapped():
    return libc.mallinfo2().hblkhd
block = bytearray(8 << 20)
del block  # glibc raises its threshold past 8 MB: a 1 MB block now goes to the heap
before = mapped(); heaped = bytearray(1 << 20); in_heap = mapped() - before < (1 << 20)
if sys.argv[1] == "fixed":
    assert Glibc().fix_mmap_threshold(128 * 1024)
before = mapped(); block = bytearray(1 << 20); own_pages = mapped() - before >= (1 << 20)
print(in_heap, own_pages)
"""


@pytest.mark.parametrize(("mode", "own_pages"), [("glibc", False), ("fixed", True)])
def test_a_fixed_threshold_gives_a_large_block_pages_of_its_own(mode: str, own_pages: bool
                                                                ) -> None:
    import subprocess
    import sys

    if not Glibc().available or Glibc().free_bytes() is None:
        pytest.skip("not glibc >= 2.33 (mallinfo2)")
    out = subprocess.run([sys.executable, "-c", THRESHOLD_PROBE, mode], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["True", str(own_pages)]


def test_what_the_allocator_holds_follows_what_is_allocated_and_released() -> None:
    glibc = Glibc()
    before = glibc.held()
    if not before:
        pytest.skip("not glibc: the allocator cannot say what it holds")
    kept = [bytes(2048) for _ in range(20_000)]  # ~40 MB through malloc (past pymalloc's 512 B)
    during = glibc.held()
    assert during["malloc_in_use"] - before["malloc_in_use"] > 30 * 2**20
    del kept
    after = glibc.held()
    assert during["malloc_in_use"] - after["malloc_in_use"] > 30 * 2**20


# Run in a child: how much of the heap is free and resident depends on the whole process.
TRIM_PROBE = """
import random
from streams.kernel.allocator import TRIM_MIN_FREE_BYTES, Glibc, trim_once
from streams.kernel.observe import resident
random.seed(7)
blocks = [bytearray(random.randint(600, 8000)) for _ in range(8000)]  # ~35 MB through malloc
for i in range(len(blocks)):
    if i % 4:
        blocks[i] = None  # runs freed between live blocks: not at the top, where glibc trims
glibc = Glibc()
free = glibc.free_bytes()
before = resident()["rss_anonymous"]
took = trim_once(glibc, TRIM_MIN_FREE_BYTES)
print(free >> 20, (before - resident()["rss_anonymous"]) >> 20, took is not None)
"""


def test_a_trim_hands_back_memory_freed_between_live_blocks() -> None:
    """The soak's case: ~25 MB free among live blocks, under the 32 MB a trim once needed."""
    import subprocess
    import sys

    if not Glibc().available or Glibc().free_bytes() is None:
        pytest.skip("not glibc >= 2.33 (mallinfo2)")
    free_mb, returned_mb, trimmed = subprocess.run(
        [sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, check=True,
    ).stdout.split()
    assert 8 <= int(free_mb) < 32 and trimmed == "True"
    assert int(returned_mb) >= int(free_mb) // 2


def test_the_trim_timer_records_how_long_each_trim_held_the_loop() -> None:
    import asyncio

    from streams.kernel import metrics
    from streams.kernel.allocator import install_trim

    if not Glibc().available or Glibc().free_bytes() is None:
        pytest.skip("not glibc >= 2.33 (mallinfo2)")
    timers = []

    class App:
        def timer(self, seconds: float, name: str) -> object:
            return timers.append

    def trims() -> float:
        return metrics.REGISTRY.get_sample_value("outreach_malloc_trim_seconds_count") or 0.0

    install_trim(App(), 10.0, minimum=2**62)  # never that much free: the tick does not trim
    install_trim(App(), 10.0, minimum=0)
    before = trims()
    asyncio.run(timers[0]())
    assert trims() == before
    asyncio.run(timers[1]())
    assert trims() == before + 1
