"""What every stage shell is given: the Faust app, the topic catalog, the clock, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from streams.contracts.topics import TopicCatalog
from streams.kernel.clock import Clock
from streams.kernel.delivery import HoldingTopic
from streams.kernel.settings import Settings

# RocksDB's defaults are sized for one database per process: a 64 MB memtable (up to 3) and a
# 2 GB block cache each. Faust opens one database per table and partition, so a soak on the disk
# store grew a worker's RSS 661 -> 2,034 MB in 10 minutes (bench/e2e.py at e760194). Each
# memtable is bounded here; all of them together, and the block cache the databases share, by
# the worker's budget (kernel/table_memory.py).
ROCKSDB_OPTIONS = {
    "write_buffer_size": 4 * 2**20,
    "max_write_buffer_number": 2,
}


@dataclass
class Hub:
    """Everything a stage's shell needs: the app, its topics by alias, the clock, the database."""

    app: faust.App
    settings: Settings
    catalog: TopicCatalog
    clock: Clock
    database_url: str
    kafka_bootstrap: str = ""
    topics: dict[str, Any] = field(default_factory=dict)
    # Things a worker holds once whatever stages use them (the campaign-status view).
    shared: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str, partitions: int, **kwargs: Any) -> Any:
        """A Faust table of this worker's store (every stage's tables are made here)."""
        if self.settings.table_store == "rocksdict":
            kwargs["options"] = dict(ROCKSDB_OPTIONS)
        return self.app.Table(name, partitions=partitions, **kwargs)

    def table_items(self, table: Any) -> Any:
        """A table's (key, value) pairs to read across awaits. The disk store's are read
        lazily (a RocksDB iterator reads a snapshot, so writes meanwhile are safe, and a million
        values are never held at once); the memory store's dict cannot be iterated while it
        grows, so its pairs are listed first (references to values it holds anyway)."""
        if self.settings.table_store == "rocksdict":
            return table.items()
        return list(table.items())

    def topic(self, alias: str) -> Any:
        if alias not in self.topics:
            spec = self.catalog[alias]
            # A stage's queue over it never stalls Faust's delivery (kernel/delivery.py).
            self.topics[alias] = HoldingTopic(
                self.app,
                topics=[spec.name],
                key_serializer="raw",
                value_serializer="raw",
                partitions=spec.partitions,
                replicas=spec.replication_factor,
                # The topics are created by `outreach-hub topics create` with topics.yaml's
                # configs; Faust must not create them with its own defaults.
                internal=False,
            )
        return self.topics[alias]
