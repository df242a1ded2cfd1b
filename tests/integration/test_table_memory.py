"""A worker's RocksDB databases share one memory budget (kernel/table_memory.py), on real
RocksDB: many databases written hard hold their memtables within the budget together, where
databases with memtables of their own each fill theirs."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from faust.stores.rocksdb import RocksDBOptions

from streams.kernel.hub import ROCKSDB_OPTIONS
from streams.kernel.table_memory import BudgetedRocksDBOptions, MemoryBudget

pytest.importorskip("rocksdict")

DATABASES = 12
VALUE = os.urandom(512).hex().encode()  # 1 KB, incompressible


def prop(db: Any, name: str) -> int:
    return int(db.property_int_value(f"rocksdb.{name}") or 0)


def memtables_after_writes(options: RocksDBOptions, root: Path) -> int:
    """Bytes in the memtables of all databases after 3 MB written to each, once the flushes
    asked for have run (RocksDB flushes in the background)."""
    dbs = [options.open(root / f"db{i}") for i in range(DATABASES)]
    try:
        for n in range(3_000):
            for i, db in enumerate(dbs):
                db[f"{i}:{n}".encode()] = VALUE
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
                prop(db, "num-immutable-mem-table") or prop(db, "num-running-flushes")
                for db in dbs):
            time.sleep(0.05)
        return sum(prop(db, "cur-size-all-mem-tables") for db in dbs)
    finally:
        for db in dbs:
            db.close()


def test_memtables_of_many_databases_stay_within_the_shared_budget(tmp_path: Path) -> None:
    budget = MemoryBudget(16)  # for the 12 databases together
    shared = memtables_after_writes(
        BudgetedRocksDBOptions(budget, **ROCKSDB_OPTIONS, use_rocksdict=True), tmp_path / "b")
    # Faust's options, each database bounded alone: each keeps its 3 MB in its memtable.
    alone = memtables_after_writes(
        RocksDBOptions(**ROCKSDB_OPTIONS, use_rocksdict=True), tmp_path / "a")
    assert alone > 24 * 2**20
    # The manager flushed once their share was reached (measured: ~8 MB, against 30-43 MB).
    assert shared <= budget.bytes


def test_the_data_written_under_the_budget_is_all_read_back(tmp_path: Path) -> None:
    options = BudgetedRocksDBOptions(MemoryBudget(16), **ROCKSDB_OPTIONS, use_rocksdict=True)
    memtables_after_writes(options, tmp_path)
    dbs = [options.open(tmp_path / f"db{i}") for i in range(DATABASES)]
    try:
        assert all(db[f"{i}:{n}".encode()] == VALUE
                   for i, db in enumerate(dbs) for n in (0, 1_500, 2_999))
        assert len(list(dbs[5].keys())) == 3_000
    finally:
        for db in dbs:
            db.close()


def test_the_budget_reports_what_its_databases_hold(tmp_path: Path) -> None:
    """What `outreach_memory_bytes{part="rocksdb_budget"}` shows: nothing before a database
    opens, then the memtables charged to the budget, within it, and less once they close."""
    budget = MemoryBudget(16)
    assert budget.usage() is None
    options = BudgetedRocksDBOptions(budget, **ROCKSDB_OPTIONS, use_rocksdict=True)
    dbs = [options.open(tmp_path / f"db{i}") for i in range(4)]
    try:
        for n in range(1_000):
            for i, db in enumerate(dbs):
                db[f"{i}:{n}".encode()] = VALUE
        memtables = sum(prop(db, "cur-size-all-mem-tables") for db in dbs)
        held = budget.usage()
        assert held is not None and 0 < memtables <= held <= budget.bytes
    finally:
        for db in dbs:
            db.close()
    closed = budget.usage()
    assert closed is not None and closed < memtables
