"""Postgres sink shell: batches of hub events from their topics -> one idempotent write each.

Offsets advance only after the batch is in PostgreSQL; a failed write is retried with backoff
(the stream waits, nothing is skipped). A record that does not decode becomes an error row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import asyncpg
from pydantic import RootModel, ValidationError

from agents.dead_letter import error_event
from streams.contracts import codec
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import MODELS, HubEvent
from streams.contracts.records import SourceRef
from streams.kernel import metrics
from streams.kernel.hub import Hub
from streams.sink.exceptions import SinkWriteError
from streams.sink.postgres import PostgresSink

log = logging.getLogger(__name__)

SUNK_TOPICS = (
    "audit",
    "lead_cards",
    "gate_verdicts",
    "errors",
    "campaign_events",
    "send_requests",
    "send_events",
    "engagement_events",
    "sequence_events",
)


class Database:
    """The PostgreSQL sink, connected on first use (a worker without the sink stage never
    connects)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._sink: PostgresSink | None = None
        self._lock = asyncio.Lock()

    async def sink(self) -> PostgresSink:
        async with self._lock:
            if self._sink is None:
                self._sink = await PostgresSink.connect(self.url)
        return self._sink


def register(hub: Hub) -> None:
    models: dict[str, Any] = {
        hub.catalog[alias].name: MODELS[hub.catalog[alias].value] for alias in SUNK_TOPICS
    }
    channel = hub.app.topic(*models, key_serializer="raw", value_serializer="raw")
    settings = hub.settings
    database = Database(hub.database_url)

    @hub.app.agent(channel, name="postgres-sink")
    async def postgres_sink(stream: Any) -> None:
        async for events in stream.take_events(
            settings.sink_batch_size, within=settings.sink_batch_seconds
        ):
            batch = [_decode(hub, models, e) for e in events]
            await _write_until_done(hub, database, batch)


def _decode(hub: Hub, models: dict[str, Any], event: Any) -> HubEvent:
    msg = event.message
    try:
        decoded = models[msg.topic].model_validate(codec.loads(event.value))
        # A union topic (outreach.audit) decodes to its wrapper: the sink stores the member.
        return decoded.root if isinstance(decoded, RootModel) else decoded
    except (ValidationError, ValueError) as exc:
        source = SourceRef(msg.topic, msg.partition, msg.offset)
        log.warning("sink input unreadable, stored as an error row: %s", source)
        return error_event(
            "postgres-sink", event.value, source, exc, hub.clock.now(), STABLE_IDS,
            key=msg.key, key_known=True,
        )


def _refused_for_its_data(exc: BaseException) -> bool:
    """PostgreSQL will refuse this row every time (bad value, broken constraint): retrying the
    batch would stall the sink forever, so such rows are set aside as error rows instead."""
    cause = exc.__cause__ if isinstance(exc, SinkWriteError) else exc
    return isinstance(cause, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError)


async def _set_aside_refused(hub: Hub, database: Database, batch: list[HubEvent]) -> int:
    """Write the batch one event at a time; each refused event becomes an error row."""
    sink = await database.sink()
    written = 0
    for event in batch:
        try:
            written += await sink.write([event])
        except SinkWriteError as exc:
            if not _refused_for_its_data(exc):
                raise
            source = SourceRef("postgres-sink", 0, 0)
            log.error(
                "postgres refused one %s event; stored as an error row: %s",
                type(event).__name__,
                exc.table,
            )
            error = error_event(
                "postgres-sink", codec.dumps(event), source, exc, hub.clock.now(), STABLE_IDS
            )
            written += await sink.write(
                [
                    error.model_copy(
                        update={
                            "event_id": STABLE_IDS.event_id(
                                "refused", getattr(event, "event_id", "")
                            ),
                            "reason": f"PostgreSQL refused the row: {exc}",
                        }
                    )
                ]
            )
    return written


async def _write_until_done(hub: Hub, database: Database, batch: list[HubEvent]) -> None:
    delay = 0.5
    while True:
        started = time.perf_counter()
        try:
            sink = await database.sink()
            try:
                written = await sink.write(batch)
            except SinkWriteError as exc:
                if not _refused_for_its_data(exc):
                    raise
                written = await _set_aside_refused(hub, database, batch)
        except Exception as exc:  # the database is down or refused: wait and retry the batch
            metrics.SINK_FAILURES.inc()
            log.error(
                "postgres sink write failed (%s: %s); retrying in %.1fs",
                type(exc).__name__,
                str(exc)[:200],
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        metrics.SINK_BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.COUNTERS["sink_rows_total"].inc(written)
        return
