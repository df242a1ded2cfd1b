"""The due index reads a disk table lazily while the stage keeps writing it (Hub.table_items,
kernel/schedule.py): on real RocksDB, a read begun before writes sees the table as it was
when it began, whatever is written meanwhile, and never fails for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from faust.stores.rocksdb import RocksDBOptions

from streams.kernel.hub import ROCKSDB_OPTIONS

pytest.importorskip("rocksdict")


def test_a_read_begun_before_writes_sees_the_table_as_it_was(tmp_path: Path) -> None:
    db = RocksDBOptions(**ROCKSDB_OPTIONS, use_rocksdict=True).open(tmp_path / "people")
    try:
        for n in range(5_000):
            db[f"p{n:05d}".encode()] = b"before"
        read, items = {}, iter(db.items())
        for n, (key, value) in enumerate(items):
            read[key] = value
            if n % 100 == 0:  # the stage writes between the read's steps, as across its yields
                db[f"p{n + 1:05d}".encode()] = b"after"  # a key not read yet, overwritten
                db[f"q{n:05d}".encode()] = b"new"  # a key the read would reach, added
        assert len(read) == 5_000
        assert set(read.values()) == {b"before"}
        assert db[b"p00001"] == b"after" and db[b"q00000"] == b"new"  # the writes took
    finally:
        db.close()
