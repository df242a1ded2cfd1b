"""PostgresSink: writes batches of hub events to schema ``outreach``, idempotently.

One batch is one transaction. Every table is keyed on something stable (event_id, or the
natural key a replay would repeat), and rows go in with ``ON CONFLICT``, so the already-applied
check and the write are the same statement: a replayed batch changes nothing and returns 0.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import asyncpg

from streams.contracts.models import HubEvent
from streams.sink.exceptions import SinkWriteError
from streams.sink.rows import TABLES, Row, Table, plan

log = logging.getLogger(__name__)

# Opens, clicks and replies are recorded per engagement event; send_log keeps the first of each
# per sent message. Joined on what is in engagement_events (not only this batch), so the result
# does not depend on whether the send report or the engagement arrived first.
_ENGAGEMENT_TIMESTAMPS = """
UPDATE outreach.send_log AS s SET
    opened_at = LEAST(s.opened_at, e.opened_at),
    clicked_at = LEAST(s.clicked_at, e.clicked_at),
    replied_at = LEAST(s.replied_at, e.replied_at),
    updated_at = now()
FROM (
    SELECT provider, provider_message_id,
           min(occurred_at) FILTER (WHERE type = 'opened') AS opened_at,
           min(occurred_at) FILTER (WHERE type = 'clicked') AS clicked_at,
           min(occurred_at) FILTER (WHERE type = 'replied') AS replied_at
    FROM outreach.engagement_events
    WHERE provider_message_id = ANY($1::text[]) AND type IN ('opened', 'clicked', 'replied')
    GROUP BY provider, provider_message_id
) AS e
WHERE s.provider = e.provider AND s.provider_message_id = e.provider_message_id
  AND (s.opened_at IS DISTINCT FROM LEAST(s.opened_at, e.opened_at)
    OR s.clicked_at IS DISTINCT FROM LEAST(s.clicked_at, e.clicked_at)
    OR s.replied_at IS DISTINCT FROM LEAST(s.replied_at, e.replied_at))
"""

# Two sinks writing overlapping batches can deadlock on ON CONFLICT; the loser's batch was
# rolled back whole, so running it again is safe.
_ATTEMPTS = 3


def _rows_changed(status: str) -> int:
    # The command tag: "INSERT 0 <n>" or "UPDATE <n>".
    return int(status.rsplit(" ", 1)[-1])


class PostgresSink:
    """The durable record's writer, around an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, min_size: int = 1, max_size: int = 4) -> PostgresSink:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={"application_name": "outreach-hub-sink"},
            init=_create_staging,
        )
        return cls(pool)

    @property
    def pool(self) -> asyncpg.Pool:
        """The pool, for migrate() and for readers of the record."""
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    async def write(self, events: Sequence[HubEvent]) -> int:
        """Write one batch in one transaction; return the number of rows inserted or changed.

        Raises UnsupportedEvent (nothing written) for an event type without a table, and
        SinkWriteError when PostgreSQL refuses the batch (rolled back whole).
        """
        if not events:
            return 0
        planned = plan(events)
        message_ids = sorted(
            {
                row["provider_message_id"]
                for table, rows in planned
                if table.name in ("send_log", "engagement_events")
                for row in rows
                if row["provider_message_id"] is not None
            }
        )
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                counts = await self._write_once(planned, message_ids)
                break
            except SinkWriteError as exc:
                retry = isinstance(exc.__cause__, asyncpg.TransactionRollbackError)
                if not retry or attempt == _ATTEMPTS:
                    raise
                log.warning("batch rolled back (%s), attempt %d of %d", exc, attempt, _ATTEMPTS)
                await asyncio.sleep(0.05 * attempt)
        # Counts and table names only: rows may hold contact data.
        log.debug("wrote batch of %d events: %s", len(events), counts)
        return sum(counts.values())

    async def write_or_set_aside(
        self, events: Sequence[HubEvent], set_aside: Callable[[HubEvent, SinkWriteError], HubEvent]
    ) -> int:
        """`write`, except that when PostgreSQL refuses the batch for a row's data the events
        are written one at a time and each refused one is replaced by `set_aside(event, exc)`,
        its error row: retrying a row that is refused every time would stall the sink forever."""
        try:
            return await self.write(events)
        except SinkWriteError as exc:
            if not refused_for_its_data(exc):
                raise
        written = 0
        for event in events:
            try:
                written += await self.write([event])
            except SinkWriteError as exc:
                if not refused_for_its_data(exc):
                    raise
                log.error("postgres refused one %s event; stored as an error row: %s",
                          type(event).__name__, exc.table)
                written += await self.write([set_aside(event, exc)])
        return written

    async def _write_once(
        self, planned: list[tuple[Table, list[Row]]], message_ids: list[str]
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        async with self._pool.acquire() as conn, conn.transaction():
            for table, rows in planned:
                try:
                    await conn.copy_records_to_table(
                        table.stage, records=table.records(rows), columns=table.column_names)
                    status = await conn.execute(table.sql)
                except asyncpg.PostgresError as exc:
                    raise SinkWriteError(table.name, exc) from exc
                counts[table.name] = counts.get(table.name, 0) + _rows_changed(status)
            if message_ids:
                try:
                    status = await conn.execute(_ENGAGEMENT_TIMESTAMPS, message_ids)
                except asyncpg.PostgresError as exc:
                    raise SinkWriteError("send_log", exc) from exc
                counts["send_log"] = counts.get("send_log", 0) + _rows_changed(status)
        return counts


async def _create_staging(conn: asyncpg.Connection) -> None:
    # Once per connection: temporary tables live as long as their session, emptied at commit.
    await conn.execute(";".join(table.stage_ddl for table in TABLES))


def refused_for_its_data(exc: SinkWriteError) -> bool:
    """PostgreSQL will refuse this row every time (a bad value, a broken constraint), unlike a
    database that is down or a transaction that lost a deadlock."""
    return isinstance(exc.__cause__, asyncpg.DataError | asyncpg.IntegrityConstraintViolationError)


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
