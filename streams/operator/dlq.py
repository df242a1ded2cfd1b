"""Dead letters from PostgreSQL, and their replay onto the source topic, once.

The source is `outreach.outreach_errors`, not the `outreach.errors` topic: the table is
durable (the topic keeps 30 days, and the embedded broker nothing across a restart), indexed
for `--since` / `--code`, holds the letters the sink sets aside itself (rows PostgreSQL refused
never reach the topic), and the replay ledger must commit in the same database anyway. A letter
shows up there once the sink has written it (well under a second when the sink keeps up).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.contracts.topics import TopicCatalog
from streams.kernel.kafka_security import KafkaSecurity, client_kwargs
from streams.operator.db import OperatorError
from streams.operator.dlq_view import DeadLetter, replay_refusal, replay_value

# What `dlq list` shows unless --code asks for another: OUT-00x are business outcomes (a
# blocked lead is OUT-001), not records a stage failed on.
DEAD_LETTER_CODES = "(e.code LIKE 'DLQ-%' OR e.code = 'SEQ-ESCALATED')"
MIN_ID_PREFIX = 8

_SELECT = """
SELECT e.event_id, e.occurred_at, e.stage, e.code, e.severity, e.reason, e.source_topic,
       e.source_partition, e.source_offset, e.subject_id, e.correlation_id, {record} AS record,
       e.source_key, e.replayable, r.replayed_at,
       r.topic || '/' || coalesce(r.partition::text, '?') || '/' || coalesce(r."offset"::text, '?')
           AS replayed_to
FROM outreach.outreach_errors e
LEFT JOIN outreach.dead_letter_replays r ON r.dead_letter_id = e.event_id
"""


def _letter(row: asyncpg.Record) -> DeadLetter:
    raw = row["record"]
    return DeadLetter(
        id=row["event_id"], occurred_at=row["occurred_at"], stage=row["stage"], code=row["code"],
        severity=row["severity"], reason=row["reason"], source_topic=row["source_topic"],
        source_partition=row["source_partition"], source_offset=row["source_offset"],
        subject_id=row["subject_id"], correlation_id=row["correlation_id"],
        record=None if raw is None else _json(raw), source_key=row["source_key"],
        replayable=row["replayable"], replayed_at=row["replayed_at"],
        replayed_to=row["replayed_to"],
    )


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # integers beyond 64 bits
        import json

        return json.loads(text)


async def list_letters(
    conn: asyncpg.Connection, since: datetime | None, code: str | None, limit: int
) -> list[DeadLetter]:
    """Newest first; the record is not read at all (a list never shows it)."""
    codes = "e.code = $2" if code else f"($2::text IS NULL AND {DEAD_LETTER_CODES})"
    rows = await conn.fetch(
        _SELECT.format(record="NULL::text")
        + f"WHERE ($1::timestamptz IS NULL OR e.occurred_at >= $1) AND {codes} "
        "ORDER BY e.occurred_at DESC, e.event_id LIMIT $3",
        since, code, limit,
    )
    return [_letter(r) for r in rows]


async def find(conn: asyncpg.Connection, ident: str, *, lock: bool = False) -> DeadLetter:
    """By its id, or a unique prefix of at least MIN_ID_PREFIX characters."""
    ident = ident.strip()
    if len(ident) < MIN_ID_PREFIX:
        raise OperatorError(f"a dead letter id needs at least {MIN_ID_PREFIX} characters")
    pattern = ident.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = await conn.fetch(
        _SELECT.format(record="e.record::text")
        + "WHERE e.event_id = $1 OR e.event_id LIKE $2 ORDER BY e.event_id = $1 DESC LIMIT 2",
        ident, pattern,
    )
    if not rows:
        raise OperatorError(f"no dead letter with id {ident}")
    if len(rows) > 1 and rows[0]["event_id"] != ident:
        raise OperatorError(f"id prefix {ident} matches several dead letters; give more of it")
    return _letter(rows[0])


async def replay(
    conn: asyncpg.Connection,
    bootstrap: str,
    catalog: TopicCatalog,
    ident: str,
    replayed_by: str,
    *,
    security: KafkaSecurity,
) -> tuple[DeadLetter, str]:
    """Produce the letter's record with its key onto its source topic, once.

    The ledger row is inserted first, in a transaction that commits only after the broker
    acknowledged the record: a concurrent replay of the same letter waits on the row's key and
    is then refused, and a produce that fails rolls the row back, leaving the letter replayable.
    Returns the letter and where the record went (topic/partition/offset).
    """
    letter = await find(conn, ident)
    refusal = replay_refusal(letter)
    if refusal:
        raise OperatorError(refusal)
    topic = letter.source_topic
    assert topic is not None  # replay_refusal checked it
    if topic not in {spec.name for spec in catalog}:
        raise OperatorError(f"dead letter {letter.id} names topic {topic}, not in topics.yaml")
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", request_timeout_ms=15000,
        **client_kwargs(security),
    )
    try:
        await producer.start()
    except (KafkaError, OSError) as exc:
        await producer.stop()
        raise OperatorError(
            f"cannot reach the broker ({type(exc).__name__}); nothing sent"
        ) from None
    try:
        async with conn.transaction():
            inserted = await conn.fetchval(
                "INSERT INTO outreach.dead_letter_replays (dead_letter_id, topic, replayed_by) "
                "VALUES ($1, $2, $3) ON CONFLICT (dead_letter_id) DO NOTHING "
                "RETURNING dead_letter_id",
                letter.id, topic, replayed_by,
            )
            if inserted is None:  # replayed meanwhile, by another operator
                raise OperatorError(replay_refusal(await find(conn, letter.id)) or "")
            key = None if letter.source_key is None else letter.source_key.encode()
            try:
                sent = await producer.send_and_wait(topic, replay_value(letter.record), key=key)
            except KafkaError as exc:
                raise OperatorError(
                    f"the broker did not take the record ({type(exc).__name__}); nothing "
                    "recorded, the dead letter stays replayable"
                ) from None
            await conn.execute(
                'UPDATE outreach.dead_letter_replays SET partition = $2, "offset" = $3 '
                "WHERE dead_letter_id = $1",
                letter.id, sent.partition, sent.offset,
            )
    finally:
        await producer.stop()
    return letter, f"{topic}/{sent.partition}/{sent.offset}"
