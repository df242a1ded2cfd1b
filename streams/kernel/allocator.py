"""What a worker's memory is held by, and two fixes at the edge (bench/sequencer_bench.py
measures both).

1. Table writes wait in Faust's producer buffer until sent to their changelog; under load
   (a sequencer deciding flat out) tens of thousands wait at once. Faust's json codec encodes
   each key and value with orjson, whose result keeps a 4 KiB allocation however short the
   JSON, so a waiting 32-byte key and 500-byte value held 8 KiB. `ExactJson` takes the place
   of Faust's "json" codec (every table names it) and writes the same bytes in an allocation
   of their own size.
2. glibc keeps the pages of freed memory in its heap when a live allocation sits above them,
   so a worker's RSS stays at the high-water mark of its busiest moment (a burst of decisions
   and the table writes behind it) long after the memory was freed. `malloc_trim(0)` hands
   the free pages back; a timer calls it when enough is free (OUTREACH_MALLOC_TRIM_SECONDS).
   Not glibc (musl, macOS): both calls are absent and the timer does nothing.
3. glibc serves an allocation of at least its mmap threshold with pages of its own, returned
   when it is freed, and raises that threshold to the size of every such block freed (up to
   32 MB): after the first fetched record batches and RocksDB buffers of a few hundred KB are
   freed, blocks that size land in the heap among small live ones, and their pages stay there
   once freed. In a disk-store soak the allocator's free memory grew 39 -> 86 MB over 12
   minutes while what was in use stayed at ~100 MB. `mallopt(M_MMAP_THRESHOLD)` fixes the
   threshold (OUTREACH_MALLOC_MMAP_THRESHOLD_KB), as MALLOC_MMAP_THRESHOLD_ would.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from typing import Any

from faust.serializers import codecs

from streams.kernel import metrics

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)

# Trimming walks the heap's free chunks and re-faulting trimmed pages costs the next burst a
# little: below this much free memory the RSS it would return is not worth it. Not more: in a
# 30-minute disk soak the heap's free memory rose 11 -> 27 MB, never reaching the 32 MB this
# was, and one trim at its end handed back 16 MB of RSS (243 -> 227 MB). A trim took 6-13 ms
# with 82 MB free in 20,000 chunks (OUTREACH_MALLOC_TRIM_MIN_FREE_MB sets it).
TRIM_MIN_FREE_BYTES = 8 * 2**20


class ExactJson(codecs.json):
    """Faust's json codec, its output copied into a bytes object of its own length: the same
    bytes on the wire (a changelog written by either codec reads back with either)."""

    def _dumps(self, s: Any) -> bytes:
        return bytes(memoryview(super()._dumps(s)))


def should_trim(free_bytes: int | None, minimum: int = TRIM_MIN_FREE_BYTES) -> bool:
    """Whether to trim now: when the allocator holds at least `minimum` free bytes, or when it
    cannot say how much it holds (no mallinfo2), in which case a trim is the cheap way to find
    out."""
    return free_bytes is None or free_bytes >= minimum


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


class Glibc:
    """glibc's malloc_trim and mallinfo2, or nothing where the C library has neither."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name) if name else None
        self._trim = getattr(libc, "malloc_trim", None)
        self._info = getattr(libc, "mallinfo2", None)  # glibc >= 2.33
        self._mallopt = getattr(libc, "mallopt", None)
        if self._mallopt is not None:
            self._mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            self._mallopt.restype = ctypes.c_int
        if self._trim is not None:
            self._trim.argtypes, self._trim.restype = [ctypes.c_size_t], ctypes.c_int
        if self._info is not None:
            self._info.argtypes, self._info.restype = [], _MallInfo2

    @property
    def available(self) -> bool:
        return self._trim is not None

    def held(self) -> dict[str, int]:
        """What the allocator holds, in bytes: in use and free in its arenas, and in blocks
        mapped on pages of their own ({} when unknown)."""
        if self._info is None:
            return {}
        info = self._info()
        return {"malloc_in_use": int(info.uordblks), "malloc_free": int(info.fordblks),
                "malloc_mmapped": int(info.hblkhd)}

    def free_bytes(self) -> int | None:
        """Bytes the allocator holds free in its arenas (fordblks), None when unknown."""
        return None if self._info is None else int(self._info().fordblks)

    def trim(self) -> None:
        if self._trim is not None:
            self._trim(0)

    def fix_mmap_threshold(self, nbytes: int) -> bool:
        """Blocks of at least `nbytes` on pages of their own, for good (no dynamic raising)."""
        return self._mallopt is not None and self._mallopt(M_MMAP_THRESHOLD, nbytes) == 1


def trim_once(glibc: Glibc, minimum: int = TRIM_MIN_FREE_BYTES) -> float | None:
    """Trim when `should_trim`: what the trim took (seconds), None when it did not trim."""
    if not glibc.available or not should_trim(glibc.free_bytes(), minimum):
        return None
    started = time.perf_counter()
    glibc.trim()
    return time.perf_counter() - started


def install(app: Any, trim_seconds: float, mmap_threshold_kb: int = 0,
            trim_min_free_bytes: int = TRIM_MIN_FREE_BYTES) -> None:
    """The fixes of the module docstring: the exact-size json codec, every `trim_seconds`
    (0: never) the allocator's free pages given back when at least `trim_min_free_bytes` are
    free, and a fixed mmap threshold of `mmap_threshold_kb` (0: glibc's own, raised as it
    goes)."""
    # In Faust's registry under the name every table's changelog uses (a Table picks "json"
    # for any key or value type but bytes and models; no setting reaches it).
    codecs.register("json", ExactJson())
    if mmap_threshold_kb:
        Glibc().fix_mmap_threshold(mmap_threshold_kb * 1024)
    install_trim(app, trim_seconds, trim_min_free_bytes)


def install_trim(app: Any, seconds: float, minimum: int = TRIM_MIN_FREE_BYTES) -> None:
    glibc = Glibc()
    if seconds <= 0 or not glibc.available:
        return

    async def trim() -> None:
        took = trim_once(glibc, minimum)
        if took is None:
            return
        metrics.MALLOC_TRIM_SECONDS.observe(took)
        if took > 0.05:
            log.info("malloc_trim took %.0f ms", took * 1000)

    app.timer(seconds, name="malloc-trim")(trim)
