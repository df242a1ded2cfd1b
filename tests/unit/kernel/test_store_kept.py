"""A store that keeps decoded states decodes a stored value once, and never serves a kept state
once the table holds another value for its key (a changelog recovery, another write)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from streams.kernel.store import TableStore


@pytest.fixture(autouse=True)
def no_faust_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("streams.kernel.changelog.with_event", lambda _event: None)


class Table(dict[str, Any]):
    """What a store uses of a Faust table to write a state: its changelog record, then its
    data."""

    def __init__(self) -> None:
        super().__init__()
        self.data = self

    def partition_for_key(self, _key: str) -> int:
        return 0

    def send_changelog(self, partition: int, _key: str, _value: Any) -> Any:
        return Acknowledged(partition)

    def _maybe_set_key_ttl(self, _key: str, _partition: int) -> None:
        return None

    def _sensor_on_set(self, _table: Any, _key: str, _value: Any) -> None:
        return None


def counting_store(keep: int) -> tuple[TableStore[list[int]], dict[str, Any], list[str]]:
    table = Table()
    decoded: list[str] = []

    def load(key: str, raw: str) -> list[int]:
        decoded.append(key)
        return [int(x) for x in raw.split(",")]

    store: TableStore[list[int]] = TableStore(
        table, load, lambda s: ",".join(map(str, s)), lambda _k: [], keep=keep)
    return store, table, decoded


class Acknowledged:
    """Faust's FutureMessage for a record the broker already has (no event loop needed)."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)

    def add_done_callback(self, callback: Any) -> None:
        callback(self)

    def cancelled(self) -> bool:
        return False

    def exception(self) -> None:
        return None


EVENT = SimpleNamespace(message=SimpleNamespace(partition=0))


def test_a_state_read_or_written_is_not_decoded_again() -> None:
    store, table, decoded = counting_store(keep=2)
    table["a"] = "1,2"
    first = store.get("a")
    assert store.get("a") is first and decoded == ["a"]
    store.write(EVENT, "a", first, [1, 2, 3])
    assert table["a"] == "1,2,3"
    assert store.get("a") == [1, 2, 3] and decoded == ["a"]  # the written state, as it was


def test_a_value_the_store_did_not_write_is_decoded() -> None:
    store, table, decoded = counting_store(keep=2)
    table["a"] = "1"
    assert store.get("a") == [1]
    table["a"] = "7"  # as a changelog recovery would put it
    assert store.get("a") == [7] and decoded == ["a", "a"]
    del table["a"]
    assert store.get("a") == []


def test_only_the_most_recently_used_are_kept() -> None:
    store, table, decoded = counting_store(keep=2)
    table.update(a="1", b="2", c="3")
    store.get("a"), store.get("b"), store.get("a"), store.get("c")  # b is the oldest now
    decoded.clear()
    store.get("a"), store.get("c"), store.get("b")
    assert decoded == ["b"]


def test_a_store_that_keeps_nothing_decodes_every_time() -> None:
    store, table, decoded = counting_store(keep=0)
    table["a"] = "1"
    store.get("a"), store.get("a")
    assert decoded == ["a", "a"]


def test_a_state_not_used_for_keep_seconds_leaves_and_one_in_use_stays() -> None:
    now = [0.0]
    table: dict[str, Any] = {"a": "1", "b": "2", "c": "3"}
    decoded: list[str] = []

    def load(key: str, raw: str) -> list[int]:
        decoded.append(key)
        return [int(raw)]

    store: TableStore[list[int]] = TableStore(
        table, load, lambda s: ",".join(map(str, s)), lambda _k: [], keep=100,
        keep_seconds=60, clock=lambda: now[0])
    store.get("a"), store.get("b")
    now[0] = 50.0
    store.get("a")  # used again: kept 60 s from now
    now[0] = 70.0
    store.get("c")  # b was last used 70 s ago
    assert store.kept == 2
    decoded.clear()
    store.get("a"), store.get("c"), store.get("b")
    assert decoded == ["b"]


@pytest.mark.parametrize("seconds", [0.0, 1e9])
def test_without_an_age_bound_only_the_count_bounds_what_is_kept(seconds: float) -> None:
    now = [0.0]
    store: TableStore[int] = TableStore({str(n): str(n) for n in range(10)},
                                        lambda _k, raw: int(raw), str, lambda _k: 0, keep=5,
                                        keep_seconds=seconds, clock=lambda: now[0])
    for n in range(10):
        now[0] += 3600
        store.get(str(n))
    assert store.kept == 5
