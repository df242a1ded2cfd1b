"""Postgres sink shell: batches of hub events from their topics -> one idempotent write each.

The kernel's batch loop with PostgreSQL as what is carried out, under the kernel's one failure
policy: offsets advance only after the batch is in PostgreSQL; a failed write is retried with
backoff (the stream waits, nothing is skipped). A record that does not decode, and a row
PostgreSQL refuses for its data, become error rows.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import ValidationError

from agents.dead_letter import error_event, refused_row
from streams.contracts.decision import Count
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import GateVerdictRecord, HubEvent, LeadCardRecord
from streams.kernel import metrics
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.interpreter import until_done
from streams.kernel.logging_setup import ids_in, log_context
from streams.kernel.loop import batch_agent, source_of
from streams.sink.exceptions import SinkWriteError
from streams.sink.postgres import Database

log = logging.getLogger(__name__)

SUNK_TOPICS = ("audit", "lead_cards", "gate_verdicts", "errors", "campaign_events",
               "campaign_health", "send_requests", "send_events", "engagement_events",
               "sequence_events")
STAGE = "postgres-sink"


def register(hub: Hub) -> None:
    channel, database = Channel(hub, *SUNK_TOPICS), Database(hub.database_url)

    def decode(event: Any) -> list[HubEvent]:
        try:
            decoded = channel.decode(event)
            # Packed lead cards and verdicts are a row each (streams/contracts/packing.py).
            if isinstance(decoded, LeadCardRecord):
                return list(decoded.cards)
            if isinstance(decoded, GateVerdictRecord):
                return list(decoded.verdicts)
            # A union topic (campaign events) decodes to its RootModel: the rows take the member.
            member: HubEvent = getattr(decoded, "root", decoded)
            return [member]
        except (ValidationError, ValueError) as exc:
            source = source_of(event)
            error = error_event(STAGE, event.value, source, exc, hub.clock.now(), STABLE_IDS,
                                key=event.message.key, key_known=True)
            with log_context(*(ids_in(event.value) or (error.correlation_id, error.process_id))):
                log.warning("sink input unreadable, stored as an error row: %s", source)
            return [error]

    def set_aside(event: HubEvent, exc: SinkWriteError) -> HubEvent:
        return refused_row(STAGE, event, exc, hub.clock.now(), STABLE_IDS)

    async def write(events: list[Any]) -> None:
        batch = [row for e in events for row in decode(e)]

        async def attempt() -> tuple[int, float]:
            started = time.perf_counter()
            written = await (await database.sink()).write_or_set_aside(batch, set_aside)
            return written, time.perf_counter() - started

        written, seconds = await until_done(attempt, failed)
        metrics.SINK_BATCH_SECONDS.observe(seconds)
        metrics.apply(Count("sink_rows_total", (), written))

    def failed(exc: Exception, delay: float) -> None:  # the database is down or refused
        metrics.SINK_FAILURES.inc()
        log.error("postgres sink write failed (%s: %s); retrying in %.1fs",
                  type(exc).__name__, str(exc)[:200], delay)

    s = hub.settings
    batch_agent(hub, channel, STAGE, write, s.sink_batch_size, s.sink_batch_seconds)
