"""Broker administration from topics.yaml: create topics (idempotent), publish JSON files."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.contracts.exceptions import TopicNotDeclared
from streams.contracts.topics import TopicCatalog, TopicSpec

log = logging.getLogger(__name__)


async def create_topics(bootstrap: str, specs: Iterable[TopicSpec]) -> dict[str, str]:
    """Create each topic that does not exist yet; returns name -> 'created' | 'exists'."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    outcome: dict[str, str] = {}
    try:
        existing = set(await admin.list_topics())
        for spec in specs:
            if spec.name in existing:
                outcome[spec.name] = "exists"
                continue
            topic = NewTopic(
                spec.name, spec.partitions, spec.replication_factor, topic_configs=spec.config()
            )
            try:
                response = await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                outcome[spec.name] = "exists"
                continue
            for name, code, *_ in getattr(response, "topic_errors", []):
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise RuntimeError(f"cannot create topic {name}: error code {code}")
            outcome[spec.name] = "created"
    finally:
        await admin.close()
    return outcome


def messages_from(document: Any, spec: TopicSpec, key: str | None) -> list[tuple[bytes, bytes]]:
    """One message per object (a JSON array is many), keyed by --key or by the topic's key field."""
    values = document if isinstance(document, list) else [document]
    out: list[tuple[bytes, bytes]] = []
    for value in values:
        k = key
        if k is None and isinstance(value, dict) and spec.key in value:
            k = str(value[spec.key])
        out.append(((k or "").encode(), orjson.dumps(value)))
    return out


async def produce(bootstrap: str, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k or None) for k, v in messages]
        for fut in futures:
            await fut
    finally:
        await producer.stop()
    return len(messages)


def resolve_topic(catalog: TopicCatalog, name_or_alias: str) -> TopicSpec:
    try:
        return catalog[name_or_alias]
    except TopicNotDeclared:
        return catalog.by_name(name_or_alias)
