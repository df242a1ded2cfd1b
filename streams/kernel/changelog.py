"""Table writes whose changelog records can be awaited.

Faust's `table[key] = value` puts the changelog record into the producer's buffer and drops
its future, so the only way to know the broker has it was to wait for the whole buffer to
empty, every stage's writes included (the sender's stall, README *End to end*). `write` does
what Faust's Table.on_key_set does and keeps the future. The buffer sends in order, so the
writes before a record, of the same key among them, reach the changelog before it.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from faust.streams import _current_event


@dataclass(frozen=True, slots=True)
class Recorded:
    """A table write (under `event`) and the future of its changelog record."""

    event: Any
    table: Any
    key: str
    sent: Awaitable[Any]


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
    return Recorded(event, table, key, sent)


def write_again(recorded: Recorded) -> Recorded:
    """The changelog record of what the table holds for the key now, sent again (after the
    broker refused the first: a replayed changelog ends the same)."""
    with_event(recorded.event)
    table, key = recorded.table, recorded.key
    sent = table.send_changelog(table.partition_for_key(key), key, table.data[key])
    return Recorded(recorded.event, table, key, sent)
