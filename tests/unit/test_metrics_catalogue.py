"""The metrics catalogue (streams/kernel/catalogue.py): docs/metrics.md is its current
rendering, its labels are bounded codes, and the Grafana dashboard queries only what it lists."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from streams.kernel.catalogue import catalogue, markdown, series_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "helm" / "outreach-hub" / "dashboards" / "outreach-hub.json"
# A metric name in a query: ours all start with one of these (PromQL functions never do).
METRIC = re.compile(r"\b(?:outreach|process)_[a-z0-9_]+\b")
# Labels that would make a series per person, per record or per message.
UNBOUNDED = {"email", "address", "contact_key", "aggregate_id", "lead_id", "event_id",
             "batch_id", "correlation_id", "process_id", "idempotency_key", "name", "offset"}


def test_docs_metrics_md_is_the_catalogue() -> None:
    assert (ROOT / "docs" / "metrics.md").read_text() == markdown(), (
        "docs/metrics.md is stale: python -m streams.kernel.catalogue > docs/metrics.md")


def test_the_readme_links_the_catalogue() -> None:
    assert "(docs/metrics.md)" in (ROOT / "README.md").read_text()


def test_every_metric_says_what_it_means_and_carries_no_unbounded_label() -> None:
    entries = catalogue()
    names = {e.name for e in entries}
    # The families an operator asked for are all there.
    assert {"outreach_consumer_lag", "outreach_stage_batch_seconds", "outreach_event_age_seconds",
            "outreach_send_seconds", "outreach_table_keys", "outreach_engagement_sends_total",
            "outreach_engagement_opens_total", "outreach_engagement_replies_total",
            "outreach_engagement_rate", "process_resident_memory_bytes",
            "process_cpu_seconds_total", "process_open_fds"} <= names
    for entry in entries:
        assert entry.help, entry
        assert not set(entry.labels) & UNBOUNDED, entry


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"]
            for target in panel.get("targets", [])]


def test_the_dashboard_queries_only_catalogued_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    known = series_names()
    found = queries(dashboard)
    assert found
    for title, expr in found:
        used = METRIC.findall(expr)
        assert used, (title, expr)
        unknown = set(used) - known
        assert not unknown, f"{title}: {sorted(unknown)} not in the catalogue"


def test_the_dashboard_has_the_panels_an_operator_needs() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {m for _, expr in queries(dashboard) for m in METRIC.findall(expr)}
    assert {"outreach_stage_records_total", "outreach_events_emitted_total",
            "outreach_consumer_lag", "outreach_dead_letters_total",
            "outreach_sender_requests_total", "outreach_engagement_sends_total",
            "process_resident_memory_bytes", "process_cpu_seconds_total"} <= used
    # ENGAGEMENT_RATE from the counters (summed across workers), against a 0.30 line.
    (rate,) = [p for p in dashboard["panels"] if "ENGAGEMENT_RATE" in p["title"]]
    assert all("outreach_engagement_rate" not in t["expr"] for t in rate["targets"])
    steps = rate["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert 0.3 in [s["value"] for s in steps]
    assert rate["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"].startswith("line")
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
