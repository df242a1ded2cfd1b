"""The chart, rendered by Helm's engine and checked against the Kubernetes API schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from chart_render import CHART, NAMESPACE, Manifest, containers, of_kind, pod_specs, render_chart

from streams.kernel.settings import STAGES

KUBERNETES = "1.30"
POOLS = [
    {"name": "intake-gate", "stages": ["intake", "gate"], "replicas": 1},
    {"name": "sequencer", "stages": ["sequencer"], "replicas": 4},
    {"name": "sender", "stages": ["sender"], "replicas": 2},
    {"name": "engagement", "stages": ["engagement"], "replicas": 2},
    {"name": "sink", "stages": ["sink"], "replicas": 2},
]
EVERYTHING_ON: dict[str, Any] = {
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": ["hub.example.com"],
        "tls": [{"secretName": "hub-tls", "hosts": ["hub.example.com"]}],
    },
    "metrics": {"serviceMonitor": {"enabled": True}, "grafanaDashboard": {"enabled": True}},
    "autoscaling": {"enabled": True},
    "extraEnv": [
        {"name": "OUTREACH_LOG_FORMAT", "value": "json"},
        {
            "name": "OUTREACH_KAFKA_SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "kafka", "key": "password"}},
        },
    ],
    "envFrom": [{"configMapRef": {"name": "outreach-extra"}}],
    "pools": POOLS,
}
SENDING = {
    "OUTREACH_EMAIL_PROVIDER",
    "OUTREACH_SMTP_HOST",
    "OUTREACH_SMTP_PORT",
    "OUTREACH_SMTP_USERNAME",
    "OUTREACH_SMTP_PASSWORD",
    "OUTREACH_SENDGRID_API_KEY",
    "OUTREACH_UNSUBSCRIBE_SECRET",
    "OUTREACH_CALENDAR_SECRET",
    "OUTREACH_PUBLIC_BASE_URL",
    "OUTREACH_BOOKING_URL",
    "OUTREACH_OPERATOR_TOKENS",
}


def validate(docs: list[Manifest]) -> None:
    for doc in docs:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: checked on its own below
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def env_of(container: Manifest) -> dict[str, Manifest]:
    return {e["name"]: e for e in container.get("env", [])}


def workers(docs: list[Manifest]) -> list[Manifest]:
    return [
        c for d in of_kind(docs, "Deployment") for c in d["spec"]["template"]["spec"]["containers"]
    ]


@pytest.mark.parametrize("values", [{}, EVERYTHING_ON], ids=["defaults", "everything-on"])
def test_the_chart_renders_valid_kubernetes_objects(
    render: Callable[..., list[Manifest]], values: dict[str, Any]
) -> None:
    docs = render(values)
    validate(docs)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "Job"} <= kinds
    values_file = yaml.safe_load((CHART / "values.yaml").read_text())
    jsonschema.validate(values_file, json.loads((CHART / "values.schema.json").read_text()))


def test_helm_lint_finds_nothing() -> None:
    import helm_python as helm

    report = helm.lint(str(CHART), EVERYTHING_ON, strict=True, kube_version="v1.30.0")
    assert not report["errors"], report
    assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


def test_a_pool_per_stage_is_one_deployment_and_one_budget_per_pool(
    render: Callable[..., list[Manifest]],
) -> None:
    docs = render({"pools": POOLS})
    validate(docs)
    deployments = {
        d["metadata"]["labels"]["outreach-hub/pool"]: d for d in of_kind(docs, "Deployment")
    }
    assert set(deployments) == {p["name"] for p in POOLS}
    for pool in POOLS:
        deployment = deployments[pool["name"]]
        assert deployment["spec"]["replicas"] == pool["replicas"]
        (worker,) = deployment["spec"]["template"]["spec"]["containers"]
        assert env_of(worker)["OUTREACH_STAGES"]["value"] == ",".join(pool["stages"])
    budgets = of_kind(docs, "PodDisruptionBudget")
    assert len(budgets) == len(POOLS)
    # each budget covers exactly its pool's pods, not another pool's
    for budget in budgets:
        selector = budget["spec"]["selector"]["matchLabels"]
        pod_labels = [
            d["spec"]["template"]["metadata"]["labels"]
            for d in deployments.values()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(pod_labels) == 1
    # the Service reaches every pool
    (service,) = of_kind(docs, "Service")
    for deployment in deployments.values():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()


def test_the_default_pools_cover_every_stage_once(render: Callable[..., list[Manifest]]) -> None:
    docs = render()
    stages = [
        stage
        for c in workers(docs)
        for stage in env_of(c)["OUTREACH_STAGES"]["value"].split(",")
    ]
    assert sorted(stages) == sorted(STAGES)


def test_every_sending_setting_comes_from_a_secret_and_no_secret_is_rendered(
    render: Callable[..., list[Manifest]],
) -> None:
    docs = render(EVERYTHING_ON)
    for worker in workers(docs):
        env = env_of(worker)
        for name in SENDING | {"OUTREACH_DATABASE_URL"}:
            assert "value" not in env[name], name
            assert env[name]["valueFrom"]["secretKeyRef"]["name"], name
        # a worker must not fall back to the sandbox because the provider key is missing
        provider = env["OUTREACH_EMAIL_PROVIDER"]["valueFrom"]["secretKeyRef"]
        assert provider.get("optional") is not True
    # the hook Job gets the database URL, never the sending secrets
    for spec in pod_specs(of_kind(docs, "Job")):
        for container in spec["containers"] + spec["initContainers"]:
            assert not SENDING & set(env_of(container))
    assert not of_kind(docs, "Secret")
    assert [c["metadata"]["name"] for c in of_kind(docs, "ConfigMap")] == [
        "hub-outreach-hub-dashboard"]  # the Grafana dashboard, no setting
    text = "\n".join(render_chart(EVERYTHING_ON).values())
    for literal in ("postgresql://", "SG.", "password:", "embedded-default"):
        assert literal not in text


def test_a_sending_setting_given_as_a_literal_is_refused() -> None:
    import helm_python as helm

    for name in ("OUTREACH_SMTP_PASSWORD", "OUTREACH_DATABASE_URL", "OUTREACH_EMAIL_PROVIDER"):
        with pytest.raises(helm.HelmRenderError, match=name):
            render_chart({"extraEnv": [{"name": name, "value": "hunter2"}]})


def test_the_ingress_exposes_only_the_public_paths(render: Callable[..., list[Manifest]]) -> None:
    docs = render(EVERYTHING_ON)
    (ingress,) = of_kind(docs, "Ingress")
    (service,) = of_kind(docs, "Service")
    paths = [
        (p["path"], p["pathType"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    ]
    assert paths == [
        ("/unsubscribe", "Exact"),
        ("/calendar/book", "Exact"),
        ("/webhooks/", "Prefix"),
    ]
    for rule in ingress["spec"]["rules"]:
        for p in rule["http"]["paths"]:
            assert p["backend"]["service"]["name"] == service["metadata"]["name"]
    assert not of_kind(render(), "Ingress"), "off unless asked for"
    # The operator API (campaign data, commands) is reachable only inside the cluster.
    for path, kind in paths:
        for private in ("/api/campaigns", "/api/campaigns/cmp-1/approve", "/metrics"):
            assert private != path and not (kind == "Prefix" and private.startswith(path))


def test_probes_are_the_web_ports_live_and_health(render: Callable[..., list[Manifest]]) -> None:
    for worker in workers(render()):
        assert worker["livenessProbe"]["httpGet"] == {"path": "/live", "port": "web"}
        assert worker["readinessProbe"]["httpGet"] == {"path": "/health", "port": "web"}
        (port,) = worker["ports"]
        assert port["name"] == "web"
        assert env_of(worker)["OUTREACH_WEB_PORT"]["value"] == str(port["containerPort"])


def test_pods_run_non_root_on_a_read_only_root_with_emptydirs(
    render: Callable[..., list[Manifest]],
) -> None:
    docs = render()
    for spec in pod_specs(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["data"] and "emptyDir" in volumes["tmp"]
    for container in containers(docs):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert {env_of(container)["OUTREACH_DATA_DIR"]["value"], "/tmp"} <= mounts


def test_the_hook_job_creates_topics_then_migrates_within_bounds(
    render: Callable[..., list[Manifest]],
) -> None:
    (job,) = of_kind(render(), "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    spec = job["spec"]
    assert spec["backoffLimit"] >= 1 and spec["activeDeadlineSeconds"] > 0
    pod = spec["template"]["spec"]
    (topics,) = pod["initContainers"]
    (migrate,) = pod["containers"]
    assert topics["args"] == ["topics", "create"]
    assert migrate["args"] == ["db", "migrate"]
    for container in (topics, migrate):
        assert container["resources"]["requests"] and container["resources"]["limits"]


def test_the_service_monitor_scrapes_metrics_on_the_web_port(
    render: Callable[..., list[Manifest]],
) -> None:
    docs = render(EVERYTHING_ON)
    (monitor,) = of_kind(docs, "ServiceMonitor")
    (service,) = of_kind(docs, "Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    assert not of_kind(render(), "ServiceMonitor"), "off unless asked for"


def test_autoscaling_hands_replicas_to_one_hpa_per_pool(
    render: Callable[..., list[Manifest]],
) -> None:
    docs = render(EVERYTHING_ON)
    hpas = {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(docs, "HorizontalPodAutoscaler")}
    deployments = of_kind(docs, "Deployment")
    assert hpas == {d["metadata"]["name"] for d in deployments}
    assert all("replicas" not in d["spec"] for d in deployments)
    one_pool = copy.deepcopy(POOLS)
    one_pool[1]["autoscaling"] = {"enabled": True, "maxReplicas": 4}
    docs = render({"pools": one_pool})
    (hpa,) = of_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"].endswith("-sequencer")


def test_notes_name_the_secrets_to_create() -> None:
    notes = render_chart()["outreach-hub/templates/NOTES.txt"]
    assert "outreach-hub-db" in notes and "outreach-hub-sending" in notes
    assert Path(CHART / "templates" / "NOTES.txt").exists()
