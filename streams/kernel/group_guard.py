"""Refuse to start a worker whose consumer group is new while another group of the same app
has already consumed its input topics.

A worker running a subset of stages joins `<app_id>-<stages>` (Settings.group_id). Moving a
stage between pools therefore starts a group with no committed offsets and empty tables; with
`auto.offset.reset=earliest` it would re-process every retained record: a sender re-sending
every retained touch, a sequencer re-enrolling everyone. A first deployment is not refused
(no other group of the app has consumed these topics), nor is a restart (the group exists).
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.contracts.exceptions import ConfigurationError
from streams.kernel.kafka_security import KafkaSecurity, client_kwargs


async def groups_that_consumed(
    bootstrap: str, app_id: str, group_id: str, inputs: dict[str, int], *,
    security: KafkaSecurity,
) -> dict[str, list[str]]:
    """Other groups of this app (named `app_id` or `app_id-...`) with committed offsets on any
    of `inputs` (topic -> partitions); empty when `group_id` itself already exists."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=15000, **client_kwargs(security)
    )
    await admin.start()
    try:
        groups = {str(g[0]) for g in await admin.list_consumer_groups()}
    finally:
        await admin.close()
    if group_id in groups:
        return {}
    others = sorted(g for g in groups if g == app_id or g.startswith(f"{app_id}-"))
    found: dict[str, list[str]] = {}
    for group in others:
        # A consumer that never subscribes does not join the group: it only reads its offsets.
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                    enable_auto_commit=False, **client_kwargs(security))
        await consumer.start()
        try:
            for topic, partitions in sorted(inputs.items()):
                for partition in range(partitions):
                    if await consumer.committed(TopicPartition(topic, partition)) is not None:
                        found.setdefault(group, []).append(topic)
                        break
        finally:
            await consumer.stop()
    return found


async def refuse_a_new_group_over_consumed_topics(
    bootstrap: str, app_id: str, group_id: str, inputs: dict[str, int], *,
    security: KafkaSecurity,
) -> None:
    found = await groups_that_consumed(bootstrap, app_id, group_id, inputs, security=security)
    if found:
        where = "; ".join(f"group {g!r} consumed {', '.join(t)}" for g, t in found.items())
        raise ConfigurationError(
            f"this worker's consumer group {group_id!r} is new, but {where}: starting would "
            "re-process every retained record of those topics with empty state (sends and "
            "enrollments again). Move the committed offsets and table state first, or set "
            "OUTREACH_ACCEPT_NEW_GROUP=true to start anyway.")
