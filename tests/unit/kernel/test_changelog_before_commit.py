"""An offset commit waits until the broker has the changelog record of every table write made
before it: Faust alone commits while those writes still sit in its producer buffer, and a worker
killed then restarts past records whose states it never stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from streams.kernel import changelog, commit_guard


class Sent(asyncio.Future[None]):
    """Faust's FutureMessage: a future that knows its record's partition."""

    def __init__(self) -> None:
        super().__init__()
        self.message = SimpleNamespace(partition=0)


APP = SimpleNamespace(in_transaction=False)


class Table:
    """A table (of `app`) whose changelog records the test acknowledges or refuses by hand."""

    def __init__(self, app: Any = APP) -> None:
        self.app = app
        self.data: dict[str, Any] = {}
        self.records: list[tuple[str, Any, Sent]] = []

    def partition_for_key(self, _key: str) -> int:
        return 0

    def send_changelog(self, _partition: int, key: str, value: Any) -> Sent:
        sent = Sent()
        self.records.append((key, value, sent))
        return sent

    def _maybe_set_key_ttl(self, _key: str, _partition: int) -> None:
        return None

    def _sensor_on_set(self, _table: Any, _key: str, _value: Any) -> None:
        return None

    def acknowledge_all(self) -> None:
        for _, _, sent in self.records:
            if not sent.done():
                sent.set_result(None)


class Event:
    """Something a weak reference can point at, as Faust's current event."""


@pytest.fixture(autouse=True)
def fresh_tracking() -> Iterator[None]:
    changelog.UNCONFIRMED.clear()
    yield
    changelog.UNCONFIRMED.clear()


async def test_a_write_is_unconfirmed_until_the_broker_acknowledges_its_record() -> None:
    table = Table()
    changelog.write(Event(), table, "person-1", b"v1")
    assert table.data["person-1"] == b"v1"  # readers see it at once
    assert not await changelog.all_confirmed(within=0.01)
    table.acknowledge_all()
    assert await changelog.all_confirmed(within=0.01)
    assert not changelog.UNCONFIRMED


async def test_a_refused_record_is_written_again_with_the_tables_current_value() -> None:
    table = Table()
    event = Event()
    changelog.write(event, table, "person-1", b"v1")
    changelog.write(event, table, "person-1", b"v2")
    table.records[0][2].set_exception(ConnectionError("broker refused"))
    table.records[1][2].set_result(None)
    waiting = asyncio.create_task(changelog.all_confirmed(within=5.0))
    while len(table.records) < 3:
        await asyncio.sleep(0.01)
    # Written again after the back-off: the key's value now, which a replay ends with anyway.
    assert table.records[2][:2] == ("person-1", b"v2")
    assert not waiting.done()
    table.acknowledge_all()
    assert await waiting


async def test_writes_made_while_a_commit_waits_do_not_hold_it_back() -> None:
    table = Table()
    changelog.write(Event(), table, "before", b"1")
    waiting = asyncio.create_task(changelog.all_confirmed(within=5.0))
    await asyncio.sleep(0)
    changelog.write(Event(), table, "after", b"2")  # a busy stage goes on writing
    table.records[0][2].set_result(None)
    assert await waiting
    assert [r.key for r in changelog.UNCONFIRMED] == ["after"]


class Consumer:
    def __init__(self, in_transaction: bool = False) -> None:
        self.app = SimpleNamespace(in_transaction=True) if in_transaction else APP
        self.committed: list[dict[str, int]] = []


async def faust_commit(self: Consumer, offsets: dict[str, int],
                       start_new_transaction: bool = True) -> bool:
    self.committed.append(dict(offsets))
    return True


@pytest.mark.parametrize(("acknowledged", "committed"), [(True, [{"p0": 11}]), (False, [])])
async def test_offsets_are_committed_only_once_the_table_writes_are_in_the_changelog(
        acknowledged: bool, committed: list[dict[str, int]]) -> None:
    table = Table()
    changelog.write(Event(), table, "person-1", b"v1")
    if acknowledged:
        table.acknowledge_all()
    commit = commit_guard.after_table_writes(faust_commit, within=0.05)
    consumer = Consumer()
    assert await commit(consumer, {"p0": 11}) is acknowledged
    assert consumer.committed == committed
    table.acknowledge_all()  # the broker catches up: the next commit goes through
    assert await commit(consumer, {"p0": 12})
    assert consumer.committed[-1] == {"p0": 12}


async def test_a_transactional_commit_is_left_to_the_transaction() -> None:
    changelog.write(Event(), Table(), "person-1", b"v1")  # never acknowledged
    consumer = Consumer(in_transaction=True)
    assert await commit_guard.after_table_writes(faust_commit, within=0.05)(consumer, {"p0": 3})
    assert consumer.committed == [{"p0": 3}]


async def test_a_commit_waits_only_for_its_own_apps_table_writes() -> None:
    # Another app in the process (a stopped one's producer never answers) must not hold it.
    mine, other = Table(), Table(app=object())
    changelog.write(Event(), other, "person-1", b"v1")
    changelog.write(Event(), mine, "person-2", b"v2")
    mine.acknowledge_all()
    assert await changelog.all_confirmed(within=0.05, app=APP)
    assert not await changelog.all_confirmed(within=0.05)
