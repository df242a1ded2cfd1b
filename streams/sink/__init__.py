"""The durable record: PostgreSQL schema ``outreach``, its migrations and the batched sink."""

from streams.sink.exceptions import MigrationError, SinkError, SinkWriteError, UnsupportedEvent
from streams.sink.migrate import available_migrations, migrate
from streams.sink.postgres import PostgresSink

__all__ = [
    "MigrationError",
    "PostgresSink",
    "SinkError",
    "SinkWriteError",
    "UnsupportedEvent",
    "available_migrations",
    "migrate",
]
