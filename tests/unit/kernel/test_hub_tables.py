"""Every stage's table on the disk store opens RocksDB with bounded memory (streams/kernel/hub.py,
kernel/table_memory.py): with RocksDB's defaults, one database per table and partition each kept
a 64 MB memtable (up to 3) and a 2 GB cache, and a disk-store soak grew a worker 661 -> 2,034 MB
in 10 minutes; bounded one by one, 382 -> 568 MB."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.app import create_app
from streams.kernel.hub import ROCKSDB_OPTIONS
from streams.kernel.settings import Settings
from streams.kernel.table_memory import BudgetedRocksDBOptions


@pytest.mark.parametrize("store", ["rocksdict", "memory"])
def test_every_stage_table_uses_the_store_chosen_and_rocksdb_is_bounded(
    store: str, tmp_path: Path
) -> None:
    settings = Settings(table_store=store, data_dir=tmp_path)  # type: ignore[arg-type]
    hub = create_app(settings, "127.0.0.1:1", "postgresql://127.0.0.1:1/none")
    tables = list(hub.app.tables.values())
    assert len(tables) >= 6  # every stage of the default worker registers its tables
    for table in tables:
        data = table.data
        if store == "memory":
            assert not hasattr(data, "rocksdb_options"), table.name
            continue
        options = data.rocksdb_options
        assert (options.write_buffer_size, options.max_write_buffer_number) == (
            ROCKSDB_OPTIONS["write_buffer_size"], ROCKSDB_OPTIONS["max_write_buffer_number"]
        ), table.name
        # One budget for the worker: every table and partition the same cache and manager.
        assert isinstance(options, BudgetedRocksDBOptions), table.name
        assert options.budget.bytes == settings.table_store_memory_mb * 2**20
        assert options.budget is tables[0].data.rocksdb_options.budget
