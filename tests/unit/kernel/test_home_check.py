"""A webhook is decided where it landed only on its person's partition, with equal partition
counts on the broker, and where this worker owns that partition (streams/kernel/home.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from streams.kernel.home import home_check
from streams.kernel.partitioning import partition_for

KEYS = [f"person-{n}" for n in range(40)]


def consumer(counts: dict[str, int | None]) -> Any:
    """Faust's consumer over aiokafka's, which knows the partitions of the topics it reads
    (None for a topic whose metadata it has not read)."""
    def partitions_for_topic(topic: str) -> set[int] | None:
        n = counts.get(topic)
        return None if n is None else set(range(n))

    inner = SimpleNamespace(partitions_for_topic=partitions_for_topic)
    return SimpleNamespace(_thread=SimpleNamespace(_consumer=inner))


def hub(counts: dict[str, int | None], owned: set[int]) -> Any:
    tps = {TP("persons", p) for p in owned} | {TP("webhooks", 1)}  # another topic's: not counted
    app = SimpleNamespace(consumer=consumer(counts),
                          assignor=SimpleNamespace(assigned_actives=lambda: tps))
    catalog = {"provider_events": SimpleNamespace(name="webhooks"),
               "engagement_routed": SimpleNamespace(name="persons")}
    return SimpleNamespace(app=app, catalog=catalog)


def on(partition: int) -> Any:
    return SimpleNamespace(message=SimpleNamespace(partition=partition))


def home_keys(counts: dict[str, int | None], owned: set[int], partition: int) -> list[str]:
    check = home_check(hub(counts, owned), "provider_events", "engagement_routed")(on(partition))
    return [k for k in KEYS if check(k)]


def test_the_keys_of_the_partition_are_home_where_it_is_owned() -> None:
    for p in range(4):
        assert home_keys({"webhooks": 4, "persons": 4}, {0, 1, 2, 3}, p) == [
            k for k in KEYS if partition_for(k, 4) == p]
    assert home_keys({"webhooks": 4, "persons": 4}, {0, 1, 2, 3}, 1)  # some land there


@pytest.mark.parametrize(("counts", "owned"), [
    ({"webhooks": 8, "persons": 4}, {0, 1, 2, 3}),  # the broker's counts differ
    ({"webhooks": None, "persons": 4}, {0, 1, 2, 3}),  # no metadata yet
    ({"webhooks": 4, "persons": 4}, {0, 2, 3}),  # partition 1 of the persons is elsewhere
])
def test_otherwise_nothing_is_home(counts: dict[str, int | None], owned: set[int]) -> None:
    assert home_keys(counts, owned, 1) == []
