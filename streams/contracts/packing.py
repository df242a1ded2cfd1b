"""Many items to a record: a stage's outputs of one partition travel together.

A Faust hop costs per record far more than per item: `bench/faust_floor.py` measures a record
of 100 items (2 sends and a table write each) at several times the items/s of one item per
record (1.4x to 19x in the runs the README quotes). Where a topic is the hub's own and its
consumers decide item by item, the hub packs what one decision (intake's batch of cards) or
one batch of a stage's records (`Stage.packs`, streams/kernel/loop.py) sends to it by the
partition each item's key goes to: a record holds items of one partition only, keyed by its first
item's key, so it lands where each of its items would have landed alone. The consumer decides
the items in order, each as a record of its own was decided, and checks that each one's key
is at home on the record's partition (a record packed with another partition count than the
broker's), sending any that is not on alone.

`packs` is pure: the caller passes where a key goes (`partition_of`, murmur2 over the topic's
partition count, streams/kernel/partitioning.py) and what an item weighs in bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from pydantic import BaseModel

from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.base import HubEvent

T = TypeVar("T")

# (emits, where a key goes, items a record, bytes a record) -> (packed records, other emits):
# `packed_emits` for one topic and item, as each packer module gives it.
Packer = Callable[[Iterable[Emit], Callable[[str], int], int, int],
                  tuple[list[Emit], list[Emit]]]


def packs(members: Iterable[tuple[str, T]], partition_of: Callable[[str], int],
          per_record: int, max_bytes: int, weight: Callable[[T], int],
          ) -> list[list[tuple[str, T]]]:
    """`members` (key, item) grouped by their key's partition, in order within a partition,
    partitions in ascending order; each group cut into records of `per_record` items and
    `max_bytes` of items at most (an item over `max_bytes` alone is a record of its own)."""
    if per_record < 1:
        raise ValueError("per_record must be at least 1")
    by_partition: dict[int, list[tuple[str, T]]] = {}
    for member in members:
        by_partition.setdefault(partition_of(member[0]), []).append(member)
    return [chunk for _, group in sorted(by_partition.items())
            for chunk in _chunks(group, per_record, max_bytes, weight)]


def _chunks(group: Sequence[tuple[str, T]], size: int, max_bytes: int,
            weight: Callable[[T], int]) -> Iterable[list[tuple[str, T]]]:
    chunk: list[tuple[str, T]] = []
    taken = 0
    for member in group:
        heavy = weight(member[1])
        if chunk and (len(chunk) == size or taken + heavy > max_bytes):
            yield chunk
            chunk, taken = [], 0
        chunk.append(member)
        taken += heavy
    if chunk:
        yield chunk


def packed_emits(emits: Iterable[Emit], topic: str, item: type[T],
                 partition_of: Callable[[str], int], per_record: int, max_bytes: int,
                 weight: Callable[[T], int],
                 record: Callable[[Sequence[tuple[str, T]]], BaseModel],
                 ) -> tuple[list[Emit], list[Emit]]:
    """The emits to `topic` of an `item` with a key, packed (`packs`) into records made by
    `record`, each keyed by its first item's key; and the other emits, as they were."""
    members: list[tuple[str, T]] = []
    others: list[Emit] = []
    for emit in emits:
        if emit.topic == topic and isinstance(emit.event, item) and emit.key:
            members.append((emit.key, emit.event))
        else:
            others.append(emit)
    return ([Emit(topic, chunk[0][0], record(chunk))
             for chunk in packs(members, partition_of, per_record, max_bytes, weight)], others)


def packer(topic: str, item: type[T], weight: Callable[[T], int],
           record: Callable[[Sequence[tuple[str, T]]], BaseModel]) -> Packer:
    """The `Packer` of a topic's `item`s (`packed_emits` with the topic's own parts), as a
    stage names it in `Stage.packs`."""

    def pack(emits: Iterable[Emit], partition_of: Callable[[str], int], per_record: int,
             max_bytes: int) -> tuple[list[Emit], list[Emit]]:
        return packed_emits(emits, topic, item, partition_of, per_record, max_bytes, weight,
                            record)

    return pack


def encoded_size(model: BaseModel) -> int:
    """What an item weighs in a pack: its own JSON's bytes."""
    return len(codec.dumps(model))


def envelope(kind: str, items: Sequence[HubEvent], ids: IdFactory) -> dict[str, object]:
    """The fields every event carries, for a pack of `items`: its id names its kind, its first
    and last items and their count (the same items packed again give the same id), and its
    time and ids are its first item's."""
    first, last = items[0], items[-1]
    return {"event_id": ids.event_id(kind, first.event_id, last.event_id, len(items)),
            "occurred_at": first.occurred_at, "correlation_id": first.correlation_id,
            "process_id": first.process_id}
