"""Read one person's sequence state: the durable record in PostgreSQL and the live value in
the sequencer's changelog topic.

Both, because neither tells all. PostgreSQL is durable, indexed by contact_key and survives
the loss of the broker, but holds projections: sequences, their events, sends, the suppression
list, not the next due time or the cooling-off clock. Those live only in the sequencer's table,
whose changelog (`<app_id>-sequencer-people-changelog`, compacted) is the table itself: the
person's record is the last value of their key in one partition, read from the start. The
changelog is read only when a broker is configured; the summary says when it was not.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from agents.sequencer.person_state import PersonState
from agents.sequencer.storage import decode
from streams.kernel.kafka_security import KafkaSecurity, client_kwargs
from streams.kernel.partitioning import partition_for
from streams.operator.db import OperatorError
from streams.operator.state_view import DurableRecord


def changelog_topic(app_id: str) -> str:
    return f"{app_id}-sequencer-people-changelog"


async def read_durable(conn: asyncpg.Connection, contact_key: str) -> DurableRecord:
    sequences = await conn.fetch(
        "SELECT aggregate_id, sequence_id, campaign_id, status, current_touch_index, version, "
        "updated_at FROM outreach.sequences WHERE contact_key = $1 ORDER BY updated_at",
        contact_key,
    )
    aggregates = [r["aggregate_id"] for r in sequences]
    events = await conn.fetch(
        "SELECT aggregate_id, version, type, payload->>'reason' AS reason, occurred_at "
        "FROM outreach.sequence_events WHERE aggregate_id = ANY($1::text[]) "
        "ORDER BY occurred_at, aggregate_id, version",
        aggregates,
    )
    sends = await conn.fetch(
        "SELECT aggregate_id, touch_index, status, provider, failure_reason, scheduled_at, "
        "sent_at, opened_at, clicked_at, replied_at FROM outreach.send_log "
        "WHERE aggregate_id = ANY($1::text[]) ORDER BY scheduled_at NULLS LAST, touch_index",
        aggregates,
    )
    suppression = await conn.fetchrow(
        "SELECT reason, created_at FROM outreach.suppression_list WHERE address_hash = $1",
        contact_key,
    )
    return DurableRecord(
        sequences=[dict(r) for r in sequences],
        events=[dict(r) for r in events],
        sends=[dict(r) for r in sends],
        suppression=None if suppression is None else dict(suppression),
    )


def decode_changelog_value(contact_key: str, value: bytes | None) -> PersonState | None:
    """Faust writes the table's value (storage.encode's JSON text) through its json
    serializer, so the record is a JSON string holding that text; a tombstone is None."""
    if value is None:
        return None
    stored: Any = orjson.loads(value)
    text = stored if isinstance(stored, str) else orjson.dumps(stored).decode()
    return decode(contact_key, text)


async def read_live(
    bootstrap: str, app_id: str, contact_key: str, timeout_s: float = 30.0, *,
    security: KafkaSecurity,
) -> tuple[PersonState | None, str]:
    """(state, note): the last changelog value of the key, read to the partition's end."""
    topic = changelog_topic(app_id)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=15000,
        **client_kwargs(security),
    )
    try:
        await consumer.start()
    except (KafkaError, OSError) as exc:
        await consumer.stop()
        raise OperatorError(f"cannot reach the broker ({type(exc).__name__})") from None
    try:
        partitions = await consumer._client.fetch_all_metadata()
        count = len(partitions.partitions_for_topic(topic) or ())
        if count == 0:
            return None, f"not read: topic {topic} does not exist (wrong --app-id?)"
        # The sequencer's input is keyed by contact_key with murmur2 and Faust writes a table
        # change to the partition of the event that made it: the same partition.
        tp = TopicPartition(topic, partition_for(contact_key, count))
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        wanted = contact_key.encode()
        found: bytes | None = None
        seen = False
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=int(timeout_s * 1000), max_records=5000)
            if not batch:
                raise OperatorError(f"reading {topic} timed out after {timeout_s:.0f}s")
            for message in batch.get(tp, []):
                if message.key in (wanted, orjson.dumps(contact_key)):
                    found, seen = message.value, True
        if not seen:
            return None, f"no record of this key in {topic} partition {tp.partition}"
        if found is None:
            return None, f"the key was deleted from {topic} partition {tp.partition}"
        state = decode_changelog_value(contact_key, found)
        return state, f"from {topic} partition {tp.partition}"
    except KafkaError as exc:
        raise OperatorError(f"cannot read {topic} ({type(exc).__name__})") from None
    finally:
        await consumer.stop()
