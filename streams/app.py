"""The Faust app factory: one app, its topics from topics.yaml, the stages' agents, web pages."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import faust

from streams import codec
from streams.clock import Clock
from streams.settings import Settings
from streams.topics import TopicCatalog, load_catalog

log = logging.getLogger(__name__)


@dataclass
class Hub:
    """Everything a stage's shell needs: the app, its topics by alias, the clock, the database."""

    app: faust.App
    settings: Settings
    catalog: TopicCatalog
    clock: Clock
    database_url: str
    kafka_bootstrap: str = ""
    topics: dict[str, Any] = field(default_factory=dict)
    _sink: Any = None
    _sink_lock: asyncio.Lock | None = None

    def topic(self, alias: str) -> Any:
        if alias not in self.topics:
            spec = self.catalog[alias]
            self.topics[alias] = self.app.topic(
                spec.name,
                key_serializer="raw",
                value_serializer="raw",
                partitions=spec.partitions,
                replicas=spec.replication_factor,
                # The topics are created by `outreach-hub topics create` with topics.yaml's
                # configs; Faust must not create them with its own defaults.
                internal=False,
            )
        return self.topics[alias]

    async def sink(self) -> Any:
        """The PostgreSQL sink, connected on first use."""
        from streams.sink.postgres import PostgresSink

        if self._sink_lock is None:
            self._sink_lock = asyncio.Lock()
        async with self._sink_lock:
            if self._sink is None:
                self._sink = await PostgresSink.connect(self.database_url)
        return self._sink


def create_app(
    settings: Settings, kafka_bootstrap: str, database_url: str, clock: Clock | None = None
) -> Hub:
    codec.register()
    catalog = load_catalog(partitions_override=settings.topic_partitions)
    app = faust.App(
        settings.group_id,
        broker=f"kafka://{kafka_bootstrap}",
        store="memory://",
        datadir=str(settings.data_dir / "faust"),
        web_enabled=True,
        # Faust's table and router pages would serve stored contact data on a port that is
        # public for /unsubscribe.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        topic_replication_factor=1,
        topic_partitions=catalog["lead_batches"].partitions,
        table_standby_replicas=0,
        producer_linger_ms=settings.producer_linger_ms,
        # topics.yaml's largest record (a lead batch). The consumer's fetch size too: where a
        # broker returns a record larger than it truncated, aiokafka skips it (RecordTooLarge).
        producer_max_request_size=catalog.max_message_bytes,
        consumer_max_fetch_size=catalog.max_message_bytes,
        consumer_auto_offset_reset="earliest",
        # Faust's default, on purpose: without the wait it commits records still in progress.
        # The wait is bounded by streams/shutdown.py instead.
        stream_wait_empty=True,
        topic_disable_leader=False,
    )
    hub = Hub(
        app=app,
        settings=settings,
        catalog=catalog,
        clock=clock or Clock(settings.clock_speed, settings.clock_anchor),
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
    )

    # Import here: each stage module registers its agent on this hub.
    from agents.engagement import agent as engagement_agent
    from agents.gate import agent as gate_agent
    from agents.intake import agent as intake_agent
    from agents.sender import agent as sender_agent
    from agents.sequencer import agent as sequencer_agent
    from streams import web
    from streams.sink import agent as sink_agent

    stages = {
        "intake": intake_agent.register,
        "gate": gate_agent.register,
        "sequencer": sequencer_agent.register,
        "sender": sender_agent.register,
        "engagement": engagement_agent.register,
        "sink": sink_agent.register,
    }
    for stage in settings.stages:
        stages[stage](hub)
    web.register(hub)
    return hub
