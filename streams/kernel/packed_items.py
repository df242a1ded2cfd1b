"""The items of a packed record (streams/contracts/packing.py), each decided as a record of its
own was: a failure is that item's alone.

A stage that takes a pack calls `each_item`: an item it fails on becomes a dead letter of its
own (its id names the item, so the letters of two items of one record are two letters), which
holds the item as a record of its own, keyed as it would have been alone, so a replay puts it
back on its topic. The pack's other items are decided.

What a record's decisions send to a packed topic goes packed too (`outcomes_packed`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel

from agents.dead_letter import dead_letter
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import HubEvent
from streams.kernel.hub import Hub
from streams.kernel.loop import routed, source_of
from streams.kernel.partitioning import pack_bytes, partition_for, produced_partitions
from streams.kernel.store import Decided

log = logging.getLogger(__name__)

Item = TypeVar("Item", bound=HubEvent)


def each_item(hub: Hub, stage: str, event: Any, items: Iterable[Item],
              key_of: Callable[[Item], str], decide: Callable[[Item], list[Decided[Any]]],
              ) -> list[Decided[Any]]:
    """`decide` on each item in order; an item it raises on is dead-lettered alone."""
    out: list[Decided[Any]] = []
    for item in items:
        try:
            out += decide(item)
        except Exception as exc:  # this item only: the record's others are decided
            out.append(item_dead_letter(hub, stage, event, item, key_of(item), exc))
    return out


def item_dead_letter(hub: Hub, stage: str, event: Any, item: BaseModel, key: str,
                     exc: Exception, item_id: str | None = None) -> Decided[None]:
    """`item` of a pack as a dead letter of its own; `item_id` names it (its event id if
    it is an event)."""
    source = source_of(event)
    name = item_id if item_id is not None else str(getattr(item, "event_id", ""))
    letter = dead_letter(stage, codec.dumps(item), source, exc, hub.clock.now(), STABLE_IDS,
                         key=key.encode(), key_known=True, item=name)
    log.error("%s failed on one item of %s (%s); dead-lettered", stage, source,
              type(exc).__name__)
    return Decided(None, "", None, letter)


# (emits, where a key goes, items a record, bytes a record) -> (packed records, other emits)
Packer = Callable[[Iterable[Emit], Callable[[str], int], int, int],
                  tuple[list[Emit], list[Emit]]]


def outcomes_packed(hub: Hub, topic: str, decided: list[Decided[Any]], packer: Packer,
                    ) -> list[Decided[Any]]:
    """A record's outcomes with what they send to `topic` taken out, packed, and sent by an
    outcome of its own after them: the kernel sends a batch's emits and waits for them all
    before it writes any state, so where they go among the record's outcomes does not matter.
    With OUTREACH_ITEMS_PER_RECORD=1 every item goes alone, as written before packing."""
    per_record = hub.settings.items_per_record
    if per_record == 1 or not any(e.topic == topic for d in decided for e in d.decision.emits):
        return decided
    count = produced_partitions(hub, topic)
    packed, others = packer((e for d in decided for e in d.decision.emits),
                            lambda key: partition_for(key, count), per_record,
                            pack_bytes(hub, topic))
    unpacked = [e for e in others if e.topic == topic]  # what the packer leaves alone
    return [*(replace(d, decision=replace(d.decision, emits=tuple(
        e for e in d.decision.emits if e.topic != topic))) for d in decided),
        routed([*packed, *unpacked])]
