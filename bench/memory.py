"""A worker's memory from outside, read from /proc (Linux): resident and peak RSS, and the
resident bytes split by who mapped them, so a figure says whether it is Python objects or the
allocator holding freed memory.

The split, per mapping of /proc/<pid>/smaps:
- `heap`: glibc's main arena (`[heap]`, grown with brk): small and medium C allocations of the
  main thread, among them every Python object above pymalloc's 512 bytes (encoded records,
  large strings and dicts' tables).
- `thread arenas`: glibc's per-thread arenas, anonymous mappings aligned to their 64 MiB
  reservation (aiokafka's consumer thread, the loop's executor).
- `anon`: the other anonymous mappings: pymalloc's 1 MiB arenas (objects up to 512 bytes),
  allocations above the mmap threshold, thread stacks.
- `files`: the interpreter, shared libraries and mapped files.
"""

from __future__ import annotations

from pathlib import Path

ARENA_ALIGN = 64 * 2**20  # glibc's HEAP_MAX_SIZE on 64-bit: a thread arena starts aligned to it


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS (resident now) and VmHWM (the peak resident), MB."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) / 1024
    return out


def smaps_split_mb(pid: int) -> dict[str, float]:
    """Resident MB per kind of mapping (the module docstring says which is which)."""
    split = {"heap": 0.0, "thread arenas": 0.0, "anon": 0.0, "files": 0.0}
    kind = "files"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if not head:
            continue
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            start = int(head[0].split("-")[0], 16)
            path = head[5] if len(head) > 5 else ""
            if path == "[heap]":
                kind = "heap"
            elif path and not path.startswith("["):
                kind = "files"
            elif not path and start % ARENA_ALIGN == 0:
                kind = "thread arenas"
            else:
                kind = "anon"  # unnamed anonymous memory, [stack], [vdso] and the like
        elif head[0] == "Rss:":
            split[kind] += int(head[1]) / 1024
    return split


def describe(pid: int) -> str:
    """One line: RSS, peak, and the split."""
    status, split = status_mb(pid), smaps_split_mb(pid)
    parts = ", ".join(f"{name} {mb:,.0f}" for name, mb in split.items())
    return (f"RSS {status['VmRSS']:,.0f} MB (peak {status['VmHWM']:,.0f} MB; {parts})")
