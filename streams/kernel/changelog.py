"""Table writes whose changelog records can be awaited, and the ones not yet acknowledged.

Faust's `table[key] = value` puts the changelog record into the producer's buffer and drops
its future, so the only way to know the broker has it was to wait for the whole buffer to
empty, every stage's writes included (the sender's stall, README *End to end*). `write` does
what Faust's Table.on_key_set does and keeps the future. The buffer sends in order, so the
writes before a record, of the same key among them, reach the changelog before it.

Every write stays in `UNCONFIRMED` until the broker has its record: an offset commit waits for
them (kernel/commit_guard.py), so a worker killed after a commit has every table write of the
records it committed (Faust commits without waiting for its buffer: a stop lost a gate slot's
or a company's write, README *Decisions*).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from functools import partial
from typing import Any

from faust.streams import _current_event


@dataclass(frozen=True, slots=True, eq=False)
class Recorded:
    """A table write (under `event`) and the future of its changelog record."""

    event: Any
    table: Any
    key: str
    sent: Awaitable[Any]


# Writes whose changelog record the broker has not acknowledged yet (one set per process: one
# app, one producer).
UNCONFIRMED: set[Recorded] = set()
REWRITE_AFTER_S = 0.5


def with_event(event: Any) -> None:
    """Make `event` Faust's current event: table writes outside the stream iteration (after a
    batch's acknowledgement) would otherwise raise or land on the wrong partition."""
    _current_event.set(weakref.ref(event))


def write(event: Any, table: Any, key: str, value: Any) -> Recorded:
    """`table[key] = value` under `event`, keeping the changelog record's future."""
    with_event(event)
    sent = table.send_changelog(table.partition_for_key(key), key, value)
    table._maybe_set_key_ttl(key, sent.message.partition)
    table._sensor_on_set(table, key, value)
    table.data[key] = value
    return _tracked(Recorded(event, table, key, sent))


def write_again(recorded: Recorded) -> Recorded:
    """The changelog record of what the table holds for the key now, sent again (after the
    broker refused the first: a replayed changelog ends the same)."""
    with_event(recorded.event)
    table, key = recorded.table, recorded.key
    sent = table.send_changelog(table.partition_for_key(key), key, table.data[key])
    UNCONFIRMED.discard(recorded)
    return _tracked(Recorded(recorded.event, table, key, sent))


def refused(recorded: Recorded) -> bool:
    """The broker answered, and not with an acknowledgement."""
    sent: Any = recorded.sent
    return bool(sent.done() and (sent.cancelled() or sent.exception() is not None))


async def all_confirmed(within: float, app: Any = None) -> bool:
    """True once the broker has the record of every write made before the call (to a table
    of `app`, when given: another app's producer may be gone), writing a refused one again;
    False if some are still unacknowledged after `within` seconds (they stay tracked: the next
    call waits for them again). Writes made while it waits are not waited for, so a busy
    worker's commit is not held back indefinitely."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = [r for r in UNCONFIRMED if app is None or getattr(r.table, "app", None) is app]
    while True:
        pending = [r for r in pending if r in UNCONFIRMED]
        left = deadline - loop.time()
        if not pending or left <= 0:
            return not pending
        if any(refused(r) for r in pending):
            await asyncio.sleep(min(REWRITE_AFTER_S, left))  # not a tight loop on a refusal
            pending = [write_again(r) if refused(r) else r for r in pending]
            continue
        await asyncio.wait([asyncio.ensure_future(r.sent) for r in pending], timeout=left)


def _tracked(recorded: Recorded) -> Recorded:
    UNCONFIRMED.add(recorded)
    recorded.sent.add_done_callback(partial(_settled, recorded))  # type: ignore[attr-defined]
    return recorded


def _settled(recorded: Recorded, sent: Any) -> None:
    # Reading the exception marks it retrieved (asyncio would log an unretrieved one); a refused
    # record stays until it is written again.
    if not sent.cancelled() and sent.exception() is None:
        UNCONFIRMED.discard(recorded)
