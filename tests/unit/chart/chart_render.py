"""The chart rendered by Helm's own engine (helm-python-sdk: Helm's Go SDK, no helm binary).

Rendering also checks the values against values.schema.json, as `helm install` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[3] / "helm" / "outreach-hub"
RELEASE = "hub"
NAMESPACE = "outreach"

Manifest = dict[str, Any]


def render_chart(values: dict[str, Any] | None = None) -> dict[str, str]:
    """Template path -> rendered text (NOTES.txt included), for a first install."""
    import helm_python as helm

    with helm.Chart.load(str(CHART)) as chart:
        return chart.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)


def manifests(values: dict[str, Any] | None = None) -> list[Manifest]:
    docs: list[Manifest] = []
    for path, text in render_chart(values).items():
        if path.endswith(".yaml"):
            docs.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return docs


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def pod_specs(docs: list[Manifest]) -> list[Manifest]:
    return [
        doc["spec"]["template"]["spec"] for doc in docs if doc["kind"] in ("Deployment", "Job")
    ]


def containers(docs: list[Manifest]) -> list[Manifest]:
    return [
        c for spec in pod_specs(docs) for c in spec["containers"] + spec.get("initContainers", [])
    ]
