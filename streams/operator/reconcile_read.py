"""The reads of `outreach-hub reconcile`: every record of the hub's topics from the start (a
plain consumer in no group, so reading commits nothing and moves no stage), and PostgreSQL's
counts. The counting is reconcile_count.py's."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streams.contracts.topics import TopicCatalog
from streams.kernel.kafka_security import KafkaSecurity, client_kwargs
from streams.operator.db import OperatorError
from streams.operator.reconcile_count import Records

# How long the read goes on past the ends the topics had when it began.
PAST_ENDS_S = 3.0

# Records field <- topics.yaml alias.
TOPICS = {"batches": "lead_batches", "cards": "lead_cards", "verdicts": "gate_verdicts",
          "errors": "errors", "requests": "send_requests", "sends": "send_events"}

# Topics whose records may carry many items (streams/contracts/packing.py): the items' field.
PACKED = {"cards": "cards", "verdicts": "verdicts"}


def _decode(value: bytes | None) -> Any:
    if not value:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


async def read_topics(bootstrap: str, catalog: TopicCatalog, *, security: KafkaSecurity,
                      timeout_s: float = 120.0) -> Records:
    """Every record, from the start to where the topics ended when reading began, and what
    came in the next moments (at most PAST_ENDS_S once those ends are read): a snapshot, so a
    hub that goes on writing is reconciled as of then."""
    names = {field: catalog[alias].name for field, alias in TOPICS.items()}
    field_of = {name: field for field, name in names.items()}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=15000,
        max_partition_fetch_bytes=catalog[TOPICS["batches"]].max_message_bytes + 1024,
        fetch_max_bytes=64 * 1024 * 1024, **client_kwargs(security))
    try:
        await consumer.start()
    except (KafkaError, OSError) as exc:
        await consumer.stop()
        raise OperatorError(f"cannot reach the broker ({type(exc).__name__})") from None
    records = Records(batch_topic=names["batches"])
    try:
        meta = await consumer._client.fetch_all_metadata()
        tps = [TopicPartition(name, p) for name in names.values()
               for p in sorted(meta.partitions_for_topic(name) or ())]
        if not tps:
            return records
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        # Past the reported ends too, until nothing more comes: a broker's high-watermark
        # can lag what is readable (the embedded one's does). But for PAST_ENDS_S at most: on a
        # hub that is still writing something always comes, and the read would never end.
        clock = asyncio.get_running_loop().time
        deadline, reached = clock() + timeout_s, None
        while True:
            batch = await consumer.getmany(*tps, timeout_ms=1500, max_records=10000)
            for tp, messages in batch.items():
                field = field_of[tp.topic]
                for m in messages:
                    value = _decode(m.value)
                    packed = PACKED.get(field)
                    if packed and isinstance(value, dict) and isinstance(value.get(packed), list):
                        getattr(records, field).extend(value[packed])  # packed: one each
                        continue
                    getattr(records, field).append(value)
                    if field == "batches":
                        records.batch_sources.append((tp.partition, m.offset))
            if reached is None and all([await consumer.position(tp) >= ends[tp] for tp in tps]):
                reached = clock()
            if reached is not None and (not batch or clock() - reached > PAST_ENDS_S):
                break
            if clock() > deadline:
                raise OperatorError(f"reading the topics timed out after {timeout_s:.0f}s")
        return records
    except KafkaError as exc:
        raise OperatorError(f"cannot read the topics ({type(exc).__name__})") from None
    finally:
        await consumer.stop()


async def read_database(conn: asyncpg.Connection) -> dict[str, dict[str, int]]:
    cards = await conn.fetch(
        "SELECT batch_id, count(DISTINCT lead_id) AS n FROM outreach.lead_cards GROUP BY 1")
    verdicts = await conn.fetch(
        "SELECT batch_id, count(DISTINCT lead_id) AS n FROM outreach.gate_verdicts GROUP BY 1")
    sent = await conn.fetch(
        "SELECT s.campaign_id, count(*) AS n FROM outreach.send_log l "
        "LEFT JOIN outreach.sequences s USING (aggregate_id) WHERE l.status = 'sent' "
        "GROUP BY 1")
    return {"cards": {r["batch_id"]: r["n"] for r in cards},
            "verdicts": {r["batch_id"]: r["n"] for r in verdicts},
            "sent": {r["campaign_id"] or "": r["n"] for r in sent}}
