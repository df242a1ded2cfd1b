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


@dataclass(frozen=True)
class Campaign:
    state: str


def test_a_predicate_marks_only_the_values_it_wants_in_writes_and_in_a_rescan() -> None:
    may_come_due = frozenset({"draft", "scheduled"}).__contains__
    marked = MarkedKeys("state", may_come_due)
    marked.update("cmp-1", Campaign("draft"), 0)
    marked.update("cmp-2", Campaign("active"), 0)
    assert marked.keys == {"cmp-1": 0}
    marked.update("cmp-1", Campaign("active"), 0)  # approved and running: nothing comes due
    assert marked.keys == {}
    stored = [(f"cmp-{n}", {"state": s}) for n, s in enumerate(
        ["draft", "active", "scheduled", "expired", "paused", "draft"])]
    asyncio.run(marked.rescan(stored, {0, 1, 2, 3}, 4))
    assert set(marked.keys) == {"cmp-0", "cmp-2", "cmp-5"}
