"""The metrics catalogue: every metric family on the hub's registry, read from the registry
itself so it cannot drift from what /metrics serves. `docs/metrics.md` is its rendering
(`python -m streams.kernel.catalogue > docs/metrics.md`; a unit test keeps it current), the
dashboard's queries are checked against it, and an end-to-end test scrapes a live worker for
every family in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from streams.kernel.metrics import REGISTRY

# What each series of a family is called in the exposition, by the family's type.
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",), "summary": ("_sum", "_count", "")}


@dataclass(frozen=True, slots=True)
class Entry:
    family: str  # as the exposition parser names it (a counter without `_total`)
    type: str
    labels: tuple[str, ...]
    help: str

    @property
    def name(self) -> str:
        """The name a query uses: a counter's `_total`, a histogram's base name."""
        return self.family + "_total" if self.type == "counter" else self.family

    @property
    def series(self) -> tuple[str, ...]:
        return tuple(self.family + suffix for suffix in SUFFIXES.get(self.type, ("",)))


def catalogue(registry: CollectorRegistry = REGISTRY) -> list[Entry]:
    entries: dict[str, Entry] = {}
    # prometheus_client keeps no public list of a registry's collectors; the label names of
    # a labelled family are only in its wrapper, as its samples may not exist yet.
    for collector in list(registry._collector_to_names):
        labels = tuple(getattr(collector, "_labelnames", ()))
        for family in collector.collect():
            entries[family.name] = Entry(family.name, family.type, labels,
                                         " ".join(family.documentation.split()))
    return sorted(entries.values(), key=lambda e: e.family)


def series_names(registry: CollectorRegistry = REGISTRY) -> set[str]:
    return {s for entry in catalogue(registry) for s in entry.series}


def markdown(registry: CollectorRegistry = REGISTRY) -> str:
    rows = [f"| `{e.name}` | {e.type} | {', '.join(f'`{x}`' for x in e.labels) or '—'} "
            f"| {e.help} |" for e in catalogue(registry)]
    return "\n".join([
        "# Metrics",
        "",
        "Every metric a worker serves on `/metrics` (one registry per worker process; the",
        "process_* families come from prometheus_client's ProcessCollector, on Linux). Generated",
        "from the registry by `python -m streams.kernel.catalogue > docs/metrics.md`; a unit test",
        "keeps this page current. Labels are codes and names of topics, stages, tables, sequence",
        "definitions and campaigns, never an id of a person, an address or a name.",
        "",
        "Counters and histograms are per worker and reset when it restarts: query them with",
        "`rate()` / `increase()` and `sum()` across workers. `outreach_engagement_rate` is one",
        "worker's view of its own partitions; the cluster's ENGAGEMENT_RATE is",
        "`(sum(increase(outreach_engagement_opens_total[1d])) +",
        "sum(increase(outreach_engagement_replies_total[1d]))) /",
        "sum(increase(outreach_engagement_sends_total[1d]))` (the Grafana dashboard in",
        "`helm/outreach-hub/dashboards/outreach-hub.json` plots it against 0.30).",
        "",
        "| metric | type | labels | meaning |",
        "|---|---|---|---|",
        *rows,
        "",
    ])


if __name__ == "__main__":
    print(markdown(), end="")
