"""Intake shell: lead batches -> the core (envelope, version, checksum, dedupe) -> lead cards."""

from __future__ import annotations

import logging
from typing import Any

from agents.intake.core import ACCEPTED_SCHEMA_VERSIONS, ParsedBatch, SeenBatch, decide, read_batch
from agents.intake.packing import packed
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.logging_setup import decision_ids, log_context
from streams.kernel.loop import Stage, routed, source_of
from streams.kernel.partitioning import pack_bytes, partition_for, produced_partitions
from streams.kernel.store import Decided, TableStore

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    # Values are JSON dicts (model_dump), so Faust's json codec stores them in the changelog.
    seen_batches: TableStore[SeenBatch | None] = TableStore(
        hub.table("intake-seen-batches", hub.catalog["lead_batches"].partitions),
        lambda _key, raw: SeenBatch.model_validate(raw),
        lambda state: state.model_dump(mode="json") if state else None,
        lambda _key: None,
    )

    per_record = hub.settings.items_per_record

    def decide_batch(raw: bytes, event: Any) -> Decided[Any]:
        source, now = source_of(event), hub.clock.now()
        parsed = read_batch(raw, source, now, STABLE_IDS, ACCEPTED_SCHEMA_VERSIONS)
        if not isinstance(parsed, ParsedBatch):
            with log_context(*decision_ids(parsed)):
                log.warning("lead batch dead-lettered at %s", source)
            return routed(parsed.emits, parsed.effects)
        key = parsed.envelope.batch_id
        seen = seen_batches.get(key)
        decision = decide(seen, parsed, source, now, STABLE_IDS)
        if per_record > 1:  # 1: every card alone, as written before packing (an upgrade)
            count = produced_partitions(hub, "lead_cards")
            decision = Decision(decision.state, packed(
                decision.emits, lambda k: partition_for(k, count), per_record,
                pack_bytes(hub, "lead_cards"), STABLE_IDS), decision.effects)
        with log_context(*decision_ids(decision)):
            log.info("lead batch processed batch_id=%s emits=%d", key, len(decision.emits))
        return seen_batches.decided(key, seen, decision)

    channel = Channel(hub, "lead_batches", models={"lead_batches": lambda raw: raw})
    Stage(hub, "intake", channel, decide_batch).agent("intake")
