"""Running the hub: `worker` against configured infrastructure, `up` on the embedded pair."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from streams.admin import create_topics
from streams.contracts.exceptions import ConfigurationError
from streams.contracts.topics import load_catalog
from streams.embedded import EmbeddedBroker, EmbeddedPostgres, hold_data_dir, mask_url
from streams.kernel.group_guard import refuse_a_new_group_over_consumed_topics
from streams.kernel.logging_setup import LogFormat, apply_format
from streams.kernel.settings import Settings
from streams.reach import connect_database
from streams.shutdown import StopWatchdog, before_a_forced_exit, drain_then_stop_committing
from streams.sink.migrate import migrate

log = logging.getLogger(__name__)


async def prepare(settings: Settings, bootstrap: str, database_url: str) -> None:
    """Topics from topics.yaml and database migrations; both idempotent, safe on every start."""
    catalog = load_catalog(partitions_override=settings.topic_partitions)
    await create_topics(bootstrap, catalog, security=settings.kafka)
    conn = await connect_database(database_url)
    try:
        applied = await migrate(conn)
    finally:
        await conn.close()
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))


def input_topics(hub: Any) -> dict[str, int]:
    """The topics this worker's agents consume (name -> partitions), from the catalog."""
    names = {name for agent in hub.app.agents.values() for name in agent.channel.topics}
    return {spec.name: spec.partitions for spec in hub.catalog if spec.name in names}


def _worker_class(watchdog: StopWatchdog, log_format: LogFormat = "text") -> type:
    import faust

    class QuietWorker(faust.Worker):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            _quiet_libraries(level)
            apply_format(logger, log_format)  # mode has just replaced the CLI's handlers

        def _schedule_shutdown(self, signum: signal.Signals) -> None:
            if watchdog.armed:  # a second signal: the operator will not wait
                watchdog.give_up_now(f"{signum.name} received twice")
            watchdog.arm(signum.name)
            super()._schedule_shutdown(signum)

        def on_worker_shutdown(self) -> None:
            watchdog.arm("the worker beginning to stop")  # stops without a signal too
            super().on_worker_shutdown()

    return QuietWorker


def run_worker(settings: Settings, bootstrap: str, database_url: str) -> int:
    """Prepare, then run the Faust worker in the foreground until SIGINT / SIGTERM.

    Returns the worker's exit code: 0 after a clean stop, non-zero when it crashed.
    """

    from streams.app import create_app

    started = time.monotonic()
    for warning in settings.warnings():
        log.warning("%s", warning)
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    asyncio.run(prepare(settings, bootstrap, database_url))
    hub = create_app(settings, bootstrap, database_url)
    if not settings.accept_new_group:
        asyncio.run(refuse_a_new_group_over_consumed_topics(
            bootstrap, settings.app_id, settings.group_id, input_topics(hub),
            security=settings.kafka))
    log.info("worker prepared in %.2fs", time.monotonic() - started)
    tune_gc()
    drain_then_stop_committing(hub.app)
    watchdog = StopWatchdog(settings.shutdown_timeout_s)
    worker = _worker_class(watchdog, settings.log_format)(
        hub.app, loglevel=settings.log_level, quiet=True
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:  # mode's worker always leaves through SystemExit
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        watchdog.disarm()
    return 0


def tune_gc() -> None:
    """Move what the worker built at start (modules, the app, the models' schemas) out of the
    collector's reach, and collect the young generation every 20,000 allocations instead of 700.
    A stage allocates a hundred-odd objects per decision, nearly all freed by reference count;
    the default thresholds made the collector walk the young objects every few decisions and
    the whole heap every few thousand, which a profile of the sequencer put at a quarter of its
    time per touch."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 10)


def _quiet_libraries(level: int) -> None:
    """Keep the client libraries' per-message debug records off the hot path.

    A profile of the sequencer showed an eighth of its time building debug records of aiokafka
    and faust that no handler printed; their loggers are held at INFO or the worker's level.
    """
    for name in ("aiokafka", "faust", "mode", "kafka"):
        logging.getLogger(name).setLevel(max(level, logging.INFO))
    # Faust warns "producer buffer full" (and logs the flush) each time more than 100 table
    # writes wait for the broker: the expected backpressure of any loaded stage, some 50
    # lines a second that bury what an operator must see. It is not an error and needs no action.
    logging.getLogger("faust.transport.producer").setLevel(max(level, logging.ERROR))


def configured_infrastructure(settings: Settings) -> tuple[str, str]:
    if settings.kafka_bootstrap is None or settings.database_url is None:
        raise ConfigurationError(
            "`worker` needs OUTREACH_KAFKA_BOOTSTRAP and OUTREACH_DATABASE_URL; "
            "`outreach-hub up` runs the embedded broker and PostgreSQL instead"
        )
    return settings.kafka_bootstrap, settings.database_url.get_secret_value()


@contextmanager
def embedded_pair(settings: Settings) -> Iterator[tuple[str, str]]:
    """The data directory's embedded pair; refused while another process runs it."""
    with hold_data_dir(settings.data_dir), _start_pair(settings) as pair:
        yield pair


@contextmanager
def _start_pair(settings: Settings) -> Iterator[tuple[str, str]]:
    """Start Tansu and PostgreSQL on loopback; stop both, in order, on the way out."""
    data = settings.data_dir
    broker = EmbeddedBroker(log_path=data / "tansu.log").start()
    try:
        pg = EmbeddedPostgres(data / "pgdata").start()
        try:
            with before_a_forced_exit(pg.stop, broker.stop):
                yield broker.bootstrap, pg.url
        finally:
            pg.stop()
    finally:
        broker.stop()


def up(settings: Settings) -> int:
    with embedded_pair(settings) as (bootstrap, database_url):
        print(f"kafka bootstrap: {bootstrap}", file=sys.stderr, flush=True)
        print(f"database url:    {mask_url(database_url)}", file=sys.stderr, flush=True)
        print(
            f"metrics:         http://{settings.web_host}:{settings.web_port}/metrics",
            file=sys.stderr,
            flush=True,
        )
        return run_worker(settings, bootstrap, database_url)
