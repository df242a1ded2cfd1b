"""The items of a packed record (streams/contracts/packing.py), each decided as a record of its
own was: a failure is that item's alone.

A stage that takes a pack calls `each_item`: an item it fails on becomes a dead letter of its
own (its id names the item, so the letters of two items of one record are two letters), which
holds the item as a record of its own, keyed as it would have been alone, so a replay puts it
back on its topic. The pack's other items are decided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

from agents.dead_letter import dead_letter
from streams.contracts import codec
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import HubEvent
from streams.kernel.hub import Hub
from streams.kernel.loop import source_of
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

