"""What this worker may act on: timers run on every worker, so they act only for the
partitions it actively owns (standby and revoked copies stay in Faust's memory store)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from streams.contracts.topics import TopicSpec
from streams.kernel.partitioning import partition_for


def owned_partitions(app: Any, topic: str) -> set[int]:
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


async def owned_entries(
    app: Any, table: Any, spec: TopicSpec, field: str
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(key, stored dict) of the table's entries on owned partitions whose `field` is
    non-empty, yielding to the event loop every thousand entries: a large table must not
    starve consumer heartbeats."""
    owned = owned_partitions(app, spec.name)
    for n, (key, raw) in enumerate(list(table.items())):
        if n % 1000 == 999:
            await asyncio.sleep(0)
        if raw.get(field) and partition_for(key, spec.partitions) in owned:
            yield key, raw
