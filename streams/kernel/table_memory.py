"""One memory budget for all of a worker's RocksDB databases (`OUTREACH_TABLE_STORE_MEMORY_MB`).

Faust opens one database per table and partition (40 in one worker running every stage at 4
partitions), and gives each a block cache of its own and memtables of its own. Bounded each
(4 MB memtables, two, and a 4 MB cache: streams/kernel/hub.py), a worker could still hold
40 x 12 MB, filled as state is written and read.

Here every database of a worker shares one LRU block cache of the budget's size, and their
memtables are charged to that cache by one write-buffer manager (up to half of it): once the
memtables together pass their share, a database written flushes its memtable. This is the
bound Kafka Streams recommends for many stores in one process (`BoundedMemoryRocksDBConfig`).
Measured with 40 databases and 600,000 writes of 1.2 KB over 130,000 keys: RSS 31 -> 238 MB
with a cache and memtables per database, 31 -> 99 MB with a 16 MB budget shared. An 8-minute
soak of one worker (bench/e2e.py, 60 leads/s) grew as much with it as without (+45%): there
the growth was the sequencer's decoded persons, not RocksDB (README, *End to end*).
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from faust.stores.rocksdb import RocksDBOptions

MEMTABLE_SHARE = 0.5  # of the budget, at most; the rest caches blocks read from disk


class MemoryBudget:
    """The shared cache and write-buffer manager of one worker, made on first use (rocksdict
    is an optional extra: a worker on the memory store never imports it)."""

    def __init__(self, megabytes: int) -> None:
        self.bytes = megabytes * 2**20
        self._parts: tuple[Any, Any] | None = None

    def parts(self) -> tuple[Any, Any]:
        """(block cache, write-buffer manager), the same pair for every database."""
        if self._parts is None:
            import rocksdict

            cache = rocksdict.Cache(self.bytes)
            # Charged to the cache, so memtables and cached blocks share one bound; no stall:
            # a write over the share flushes, it never waits.
            manager = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
                int(self.bytes * MEMTABLE_SHARE), False, cache)
            self._parts = (cache, manager)
        return self._parts

    def usage(self) -> int | None:
        """Bytes charged to the budget now (cached blocks and memtables); None before the
        first database opened."""
        return None if self._parts is None else int(self._parts[0].get_usage())


def budget_usage(app: Any) -> int | None:
    budget = _BUDGETS.get(app)
    return None if budget is None else budget.usage()


class BudgetedRocksDBOptions(RocksDBOptions):
    """Faust's rocksdict options for one database, its cache and memtables under the budget."""

    def __init__(self, budget: MemoryBudget, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.budget = budget

    def as_options(self) -> Any:
        if not self.use_rocksdict:
            return super().as_options()
        import rocksdict

        cache, manager = self.budget.parts()
        db_options = rocksdict.Options(raw_mode=True)
        db_options.create_if_missing(True)
        if self.max_open_files is not None:
            db_options.set_max_open_files(self.max_open_files)
        db_options.set_write_buffer_size(self.write_buffer_size)
        db_options.set_target_file_size_base(self.target_file_size_base)
        db_options.set_max_write_buffer_number(self.max_write_buffer_number)
        db_options.set_write_buffer_manager(manager)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(cache)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        db_options.set_block_based_table_factory(table)
        return db_options


_BUDGETS: WeakKeyDictionary[Any, MemoryBudget] = WeakKeyDictionary()


def install(app: Any, megabytes: int) -> None:
    """Every RocksDB database `app`'s tables open shares `megabytes` (other apps: Faust's)."""
    _BUDGETS[app] = MemoryBudget(megabytes)


def options_for(app: Any, options: RocksDBOptions, given: dict[str, Any]) -> RocksDBOptions:
    """A store's options under `app`'s budget (`given`: the options its table was made with),
    or `options` unchanged when none is installed or the store is not on rocksdict."""
    budget = _BUDGETS.get(app)
    if budget is None or not options.use_rocksdict:
        return options
    return BudgetedRocksDBOptions(budget, **given, use_rocksdict=True)
