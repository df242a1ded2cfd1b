"""Consumer lag from offsets, and the batch loop's record counts and ages (no broker)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

from streams.kernel import table_memory
from streams.kernel.allocator import Glibc
from streams.kernel.loop import observe_taken
from streams.kernel.metrics import REGISTRY
from streams.kernel.observe import lag_of, memory_parts, resident, sample_memory


class TP(NamedTuple):
    topic: str
    partition: int


A0, A1, B0, C0 = TP("a", 0), TP("a", 1), TP("b", 0), TP("c", 0)


def test_lag_is_the_high_watermark_minus_the_groups_commit() -> None:
    lags = lag_of(
        [A0, A1, B0, C0],
        highwater={A0: 120, A1: 7, B0: 50, C0: None},
        committed={A0: 100, A1: 9, B0: None, C0: 3},
        earliest={B0: 20},
    )
    assert lags == {
        ("a", 0): 20,
        ("a", 1): 0,  # committed past a high watermark read a moment earlier: no lag, not -2
        ("b", 0): 30,  # nothing committed yet: the group would read from the earliest offset
        # c/0: no high watermark known yet, so no sample rather than a made-up one
    }


def test_a_batch_counts_its_records_and_observes_each_ones_age() -> None:
    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"stage": "observe-test"}) or 0.0

    events = [SimpleNamespace(message=SimpleNamespace(timestamp=t)) for t in (990.0, 999.5, None)]
    observe_taken("observe-test", events, now=1000.0)
    assert sample("outreach_stage_records_total") == 3
    assert sample("outreach_event_age_seconds_count") == 2  # a record without a timestamp: none
    assert sample("outreach_event_age_seconds_sum") == 10.5


class App:
    """What memory_parts reads of a Faust app: its tables (none on disk here)."""

    tables: dict[str, object] = {}


def test_the_resident_set_is_read_as_linux_splits_it(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmRSS:\t  30000 kB\nRssAnon:\t  20000 kB\n"
                      "RssFile:\t  9000 kB\nRssShmem:\t  1000 kB\n")
    assert resident(str(status)) == {"rss_anonymous": 20000 * 1024, "rss_file": 9000 * 1024}
    assert resident(str(tmp_path / "missing")) == {}


class NoGlibc:
    def held(self) -> dict[str, int]:
        return {}


def test_memory_is_reported_by_part_and_only_the_parts_this_worker_can_measure() -> None:
    app = App()
    parts = memory_parts(app, Glibc())
    if parts:  # Linux and glibc: the resident set and the heap; no disk store, no RocksDB part
        assert set(parts) == {"rss_anonymous", "rss_file", "malloc_in_use", "malloc_free",
                              "malloc_mmapped"}
        assert parts["malloc_in_use"] > 0
        assert parts["rss_anonymous"] + parts["rss_file"] > 10 * 2**20
    table_memory.install(app, 16)
    assert "rocksdb_budget" not in memory_parts(app, NoGlibc())  # no database opened yet
    table_memory._BUDGETS[app].parts()  # what the first database's options make
    assert "rocksdb_budget" in memory_parts(app, NoGlibc())
    sample_memory(app, NoGlibc())
    assert REGISTRY.get_sample_value("outreach_memory_bytes", {"part": "rocksdb_budget"}) == 0
    assert (REGISTRY.get_sample_value("outreach_python_allocated_blocks") or 0) > 1_000
