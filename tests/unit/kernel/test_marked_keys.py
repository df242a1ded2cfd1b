"""The index a timer reads instead of its table: the keys whose state has the field set."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from streams.kernel.partitioning import partition_for
from streams.kernel.timer import MarkedKeys


@dataclass(frozen=True)
class State:
    in_flight: tuple[str, ...] = ()


def test_a_write_marks_a_state_with_the_field_set_and_unmarks_it_once_cleared() -> None:
    marked = MarkedKeys("in_flight")
    marked.update("ck-1", State(("t1",)), 3)
    marked.update("ck-2", State(), 1)
    assert marked.keys == {"ck-1": 3}
    marked.update("ck-1", State(), 3)
    marked.update("ck-3", None, 0)
    assert marked.keys == {}


def test_a_rescan_reads_the_stored_states_of_owned_partitions_only() -> None:
    stored = [(f"ck-{n}", {"in_flight": [f"t{n}"] if n % 2 else []}) for n in range(40)]
    owned = {0, 2}
    marked = MarkedKeys("in_flight")
    marked.update("ck-gone", State(("t",)), 0)  # a key the table no longer holds
    asyncio.run(marked.rescan(stored, owned, 4))
    assert marked.keys == {key: partition_for(key, 4) for key, raw in stored
                           if raw["in_flight"] and partition_for(key, 4) in owned}
    assert marked.keys and marked.scanned_for == owned and not marked.stale
