"""The items of a packed record (streams/contracts/packing.py), each decided as a record of its
own was: a failure is that item's alone.

A stage that takes a pack calls `each_item`: an item it fails on becomes a dead letter of its
own (its id names the item, so the letters of two items of one record are two letters), which
holds the item as a record of its own, keyed as it would have been alone, so a replay puts it
back on its topic. The pack's other items are decided.

A stage whose items are folded per key (a person, a scope, a message) groups a pack's items
with `by_key_at_home`, which also sends on alone, under its own key, an item whose key is not
at home on the record's partition (the pack was made with another partition count than the
broker's: streams/kernel/home.py); `folded_each` folds each key's items, dead-lettering the
items of a key whose fold raises; `guarded` makes a fold step of a decision that dead-letters
the item it raises on and leaves the state as it was. Keys are folded one after another, each
key's items in order: items of two keys are not decided in the order they were packed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from agents.dead_letter import dead_letter
from streams.contracts import codec
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import HubEvent
from streams.kernel.home import Home
from streams.kernel.hub import Hub
from streams.kernel.loop import routed, source_of
from streams.kernel.store import Decided

log = logging.getLogger(__name__)

Item = TypeVar("Item", bound=HubEvent)
Packed = TypeVar("Packed", bound=BaseModel)
S = TypeVar("S")


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


def by_key_at_home(items: Sequence[Packed], key_of: Callable[[Packed], str], home: Home,
                   topic: str) -> tuple[dict[str, list[Packed]], list[Decided[Any]]]:
    """A pack's items grouped by key, in order; and, as outcomes, each item of several whose
    key is not at home here sent on alone to `topic` (an item alone is decided where it
    landed, as before packing)."""
    groups: dict[str, list[Packed]] = {}
    away: list[Decided[Any]] = []
    for item in items:
        key = key_of(item)
        if len(items) > 1 and not home(key):
            away.append(routed([Emit(topic, key, item)]))
        else:
            groups.setdefault(key, []).append(item)
    return groups, away


def folded_each(hub: Hub, stage: str, event: Any, groups: dict[str, list[Packed]],
                fold: Callable[[str, list[Packed]], Decided[Any]],
                id_of: Callable[[Packed], str]) -> list[Decided[Any]]:
    """`fold(key, items)` for each key of a pack; a key whose fold raises (its stored state
    does not read, say) has each of its items dead-lettered alone: the other keys are
    decided, and a replay of one letter does not carry the others with it."""
    out: list[Decided[Any]] = []
    for key, items in groups.items():
        try:
            out.append(fold(key, items))
        except Exception as exc:  # this key's items only
            out += [item_dead_letter(hub, stage, event, item, key, exc, id_of(item))
                    for item in items]
    return out


def guarded(hub: Hub, stage: str, event: Any, letters: list[Decided[Any]],
            decide: Callable[[S, Packed], Decision[S]], key_of: Callable[[Packed], str],
            id_of: Callable[[Packed], str]) -> Callable[[S, Packed], Decision[S]]:
    """`decide` as a fold step: an item it raises on is dead-lettered alone (into `letters`)
    and leaves the state as it was, so the pack's other items are decided."""

    def step(state: S, item: Packed) -> Decision[S]:
        try:
            return decide(state, item)
        except Exception as exc:  # this item only
            letters.append(item_dead_letter(hub, stage, event, item, key_of(item), exc,
                                            id_of(item)))
            return Decision(state)

    return step
