"""Intake shell: reads lead batches, looks up the batch_id, runs the core, writes the result."""

from __future__ import annotations

import logging
from typing import Any

from agents.intake.core import (
    ACCEPTED_SCHEMA_VERSIONS,
    ParsedBatch,
    SeenBatch,
    decide,
    read_batch,
)
from streams.contracts.ids import STABLE_IDS
from streams.contracts.records import SourceRef
from streams.kernel.guard import dead_letter_on_error
from streams.kernel.hub import Hub
from streams.kernel.interpreter import carry_out

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    spec = hub.catalog["lead_batches"]
    # Values are JSON dicts (model_dump), so Faust's json codec stores them in the changelog.
    seen_batches = hub.app.Table("intake-seen-batches", partitions=spec.partitions)

    async def handle(event: Any) -> None:
        msg = event.message
        source = SourceRef(msg.topic, msg.partition, msg.offset)
        now = hub.clock.now()
        parsed = read_batch(event.value, source, now, STABLE_IDS, ACCEPTED_SCHEMA_VERSIONS)
        if not isinstance(parsed, ParsedBatch):
            log.warning("lead batch dead-lettered at %s", source)
            await carry_out(hub, parsed)
            return
        key = parsed.envelope.batch_id
        raw_seen = seen_batches.get(key)
        seen = SeenBatch.model_validate(raw_seen) if raw_seen else None
        decision = decide(seen, parsed, source, now, STABLE_IDS)
        await carry_out(hub, decision)
        if decision.state is not None and decision.state != seen:
            seen_batches[key] = decision.state.model_dump(mode="json")
        log.info("lead batch processed batch_id=%s emits=%d", key, len(decision.emits))

    @hub.app.agent(hub.topic("lead_batches"), name="intake")
    async def intake(stream: Any) -> None:
        async for event in stream.events():
            await dead_letter_on_error(hub, "intake", event, handle)
