"""The composition root: one Faust app, its topics from topics.yaml, the stage registry, web
pages."""

from __future__ import annotations

import logging
from importlib.util import find_spec

import faust

from streams.contracts.exceptions import ConfigurationError
from streams.contracts.topics import load_catalog
from streams.kernel import (
    ack_guard,
    allocator,
    commit_guard,
    drain,
    fetch_guard,
    fetch_wait,
    loop_lag,
    table_memory,
    table_stores,
)
from streams.kernel.clock import Clock
from streams.kernel.hub import Hub
from streams.kernel.kafka_security import faust_credentials
from streams.kernel.settings import Settings

log = logging.getLogger(__name__)

# Faust's memory and RocksDB stores (RocksDB on rocksdict, the `rocksdb` extra), each filled
# from its changelog in bulk (kernel/table_stores.py).
_STORE_URLS = {"memory": table_stores.MEMORY_URL, "rocksdict": table_stores.ROCKSDB_URL}


def create_app(
    settings: Settings, kafka_bootstrap: str, database_url: str, clock: Clock | None = None
) -> Hub:
    if settings.table_store == "rocksdict" and find_spec("rocksdict") is None:
        raise ConfigurationError(
            "OUTREACH_TABLE_STORE=rocksdict needs rocksdict: install outreach-hub[rocksdb]")
    catalog = load_catalog(partitions_override=settings.topic_partitions)
    app = faust.App(
        settings.group_id,
        broker=f"kafka://{kafka_bootstrap}",
        # SASL / TLS of its consumer, producer and admin requests (kernel/kafka_security.py).
        broker_credentials=faust_credentials(settings.kafka),
        store=_STORE_URLS[settings.table_store],
        # Faust refuses to recover a table whose offset it has read past the broker's
        # high-watermark (a disk store over a truncated changelog). With the memory store the
        # offset is this process's own reading, and Tansu reports high-watermarks that lag what
        # is readable: a worker given a partition back crashed in recovery (9 > 4). The disk
        # store trips it the same way on a plain restart (28 > 24), so it stays off there too:
        # a changelog topic deleted and made anew under a disk store is not noticed, which is
        # why the setting's description says to clear the data directory then.
        recovery_consistency_check=False,
        processing_guarantee=settings.processing_guarantee,
        datadir=str(settings.data_dir / "faust"),
        web_enabled=True,
        # Faust's table and router pages would serve stored contact data on a port that is
        # public for /unsubscribe.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_host=settings.web_host,
        # Faust listens on web_bind (default 0.0.0.0), not on web_host.
        web_bind=settings.web_host,
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
    # Changelog writes in exact-size bytes, freed memory handed back (kernel/allocator.py).
    allocator.install(app, settings.malloc_trim_seconds, settings.malloc_mmap_threshold_kb,
                      settings.malloc_trim_min_free_mb * 2**20)
    table_stores.install(app, kafka_bootstrap, settings.kafka)
    table_memory.install(app, settings.table_store_memory_mb)  # one RocksDB budget a worker
    ack_guard.install(app)
    fetch_guard.install(frozenset(
        spec.name for spec in catalog if spec.cleanup_policy == "compact"), app)
    commit_guard.install()
    drain.install()  # records to stages delivered without a task each (kernel/drain.py)
    fetch_wait.install(app, settings.fetch_max_wait_ms)  # kernel/fetch_wait.py
    loop_lag.install(app)  # outreach_event_loop_lag_seconds
    hub = Hub(
        app=app,
        settings=settings,
        catalog=catalog,
        clock=clock or Clock(settings.clock_speed, settings.clock_anchor),
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
    )

    # Import here: each stage module registers its agent on this hub.
    from streams import web
    from streams.shells import campaign_health as campaign_health_agent
    from streams.shells import campaigns as campaigns_agent
    from streams.shells import engagement as engagement_agent
    from streams.shells import gate as gate_agent
    from streams.shells import intake as intake_agent
    from streams.shells import sender as sender_agent
    from streams.shells import sequencer as sequencer_agent
    from streams.shells import sink as sink_agent

    stages = {
        "intake": intake_agent.register,
        "gate": gate_agent.register,
        "campaigns": campaigns_agent.register,
        "sequencer": sequencer_agent.register,
        "sender": sender_agent.register,
        "engagement": engagement_agent.register,
        "campaign-health": campaign_health_agent.register,
        "sink": sink_agent.register,
    }
    for stage in settings.stages:
        stages[stage](hub)
    web.register(hub)
    return hub
