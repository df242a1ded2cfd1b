"""Every metric a pure core counts is declared: an undeclared one would crash its agent."""

import re
from pathlib import Path

from streams.kernel import metrics

AGENTS = Path(__file__).resolve().parents[2] / "agents"


def test_every_counted_metric_is_declared() -> None:
    counted = set()
    for source in AGENTS.rglob("*.py"):
        counted |= set(re.findall(r'Count\(\s*"([a-z_]+)"', source.read_text()))
    assert counted, "no Count(...) found: the scan itself is broken"
    assert counted <= set(metrics.COUNTERS), counted - set(metrics.COUNTERS)
