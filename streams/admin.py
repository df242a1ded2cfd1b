"""Broker administration from topics.yaml: create topics (idempotent), publish JSON files."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from streams.contracts.exceptions import HubError, InvalidInput, TopicNotDeclared
from streams.contracts.topics import (
    DEFAULT_MAX_MESSAGE_BYTES,
    TopicCatalog,
    TopicSpec,
    load_catalog,
)
from streams.kernel.kafka_security import KafkaSecurity, client_kwargs
from streams.reach import kafka_client

log = logging.getLogger(__name__)


async def create_topics(
    bootstrap: str, specs: Iterable[TopicSpec], *, security: KafkaSecurity
) -> dict[str, str]:
    """Create each topic that does not exist yet; returns name -> 'created' | 'exists'."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **client_kwargs(security)
    )
    outcome: dict[str, str] = {}
    async with kafka_client(admin, bootstrap):
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
                    raise HubError(f"cannot create topic {name}: error code {code}")
            outcome[spec.name] = "created"
    return outcome


def messages_from(document: Any, spec: TopicSpec, key: str | None) -> list[tuple[bytes, bytes]]:
    """One message per object (a JSON array is many), keyed by --key or by the topic's key field."""
    values = document if isinstance(document, list) else [document]
    out: list[tuple[bytes, bytes]] = []
    for value in values:
        k = key
        if k is None and isinstance(value, dict):
            field = next((f for f in spec.key_fields if f in value), None)
            k = None if field is None else str(value[field])
        out.append(((k or "").encode(), orjson.dumps(value)))
    return out


def record_bytes(key: bytes, value: bytes) -> int:
    """A record's size in a batch of its own, as the producer and the broker count it."""
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key or None, value, []))


def refuse_oversized(
    topic: str, messages: Sequence[tuple[bytes, bytes]], max_message_bytes: int
) -> None:
    """Checked here, before connecting: Tansu does not enforce max.message.bytes, and a record
    a broker refuses would only fail after the others of the file were published."""
    for n, (key, value) in enumerate(messages, 1):
        size = record_bytes(key, value)
        if size > max_message_bytes:
            raise InvalidInput(
                f"message {n} of {len(messages)} is {size:,} bytes; {topic} takes at most "
                f"{max_message_bytes:,} bytes (max_message_bytes in topics.yaml)"
            )


async def produce(
    bootstrap: str,
    topic: str,
    messages: Sequence[tuple[bytes, bytes]],
    max_message_bytes: int | None = None,
    *,
    security: KafkaSecurity,
) -> int:
    """Publish and wait for the broker; the size limit defaults to the topic's in topics.yaml."""
    if max_message_bytes is None:
        max_message_bytes = _declared_limit(topic)
    refuse_oversized(topic, messages, max_message_bytes)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_request_size=max_message_bytes,
        **client_kwargs(security),
    )
    async with kafka_client(producer, bootstrap):
        try:
            futures = [await producer.send(topic, value=v, key=k or None) for k, v in messages]
            for fut in futures:
                await fut
        except KafkaError as exc:
            raise HubError(
                f"publishing to {topic} at {bootstrap} failed: {type(exc).__name__}"
            ) from None
    return len(messages)


def _declared_limit(topic: str) -> int:
    try:
        return load_catalog().by_name(topic).max_message_bytes
    except TopicNotDeclared:
        return DEFAULT_MAX_MESSAGE_BYTES


def resolve_topic(catalog: TopicCatalog, name_or_alias: str) -> TopicSpec:
    try:
        return catalog[name_or_alias]
    except TopicNotDeclared:
        return catalog.by_name(name_or_alias)
