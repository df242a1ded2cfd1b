"""The Grafana dashboard as the chart ships it: off by default; on, one ConfigMap with the
sidecar's label holding the repository's dashboard JSON unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable

from chart_render import CHART, Manifest, of_kind


def test_the_dashboard_configmap_carries_the_dashboard_for_the_sidecar(
    render: Callable[..., list[Manifest]],
) -> None:
    assert not of_kind(render(), "ConfigMap"), "off unless asked for"
    docs = render({"metrics": {"grafanaDashboard": {
        "enabled": True, "annotations": {"grafana_folder": "Outreach"}}}})
    (config,) = of_kind(docs, "ConfigMap")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config["metadata"]["annotations"] == {"grafana_folder": "Outreach"}
    shipped = json.loads(config["data"]["outreach-hub.json"])
    assert shipped == json.loads((CHART / "dashboards" / "outreach-hub.json").read_text())
