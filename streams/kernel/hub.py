"""What every stage shell is given: the Faust app, the topic catalog, the clock, the settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faust

from streams.contracts.topics import TopicCatalog
from streams.kernel.clock import Clock
from streams.kernel.settings import Settings


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
    # Things a worker holds once whatever stages use them (the campaign-status view).
    shared: dict[str, Any] = field(default_factory=dict)

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
