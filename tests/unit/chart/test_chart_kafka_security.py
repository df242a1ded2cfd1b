"""Kafka SASL / TLS in the chart: credentials and keys from Secrets, in every container that
talks to Kafka (the workers and the topics hook), named as the hub reads them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest
from chart_render import Manifest, containers, pod_specs, render_chart

from streams.kernel.kafka_security import KafkaSecurity

SCRAM_SSL: dict[str, Any] = {"kafka": {"bootstrap": "kafka-0.kafka:9093", "security": {
    "protocol": "SASL_SSL",
    "sasl": {"mechanism": "SCRAM-SHA-256", "secretName": "kafka-sasl"},
    "tls": {"secretName": "kafka-tls", "certKey": "tls.crt", "keyKey": "tls.key",
            "keyPasswordKey": "key-password"},
}}}
TLS_DIR = "/etc/outreach-hub/kafka-tls"


def kafka_env(container: Manifest) -> dict[str, Manifest]:
    return {e["name"]: e for e in container["env"] if e["name"].startswith("OUTREACH_KAFKA_")}


def secret_ref(secret: str, key: str) -> Manifest:
    return {"valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def test_a_scram_cluster_over_tls_reads_every_credential_from_secrets(
        render: Callable[..., list[Manifest]]) -> None:
    docs = render(SCRAM_SSL)
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    hub = containers(docs)
    assert len(hub) >= 3  # one worker pool, the hook's topics and migrate containers
    for container in hub:
        env = {n: {k: v for k, v in e.items() if k != "name"}
               for n, e in kafka_env(container).items()}
        assert env == {
            "OUTREACH_KAFKA_BOOTSTRAP": {"value": "kafka-0.kafka:9093"},
            "OUTREACH_KAFKA_SECURITY_PROTOCOL": {"value": "SASL_SSL"},
            "OUTREACH_KAFKA_SASL_MECHANISM": {"value": "SCRAM-SHA-256"},
            "OUTREACH_KAFKA_SASL_USERNAME": secret_ref("kafka-sasl", "username"),
            "OUTREACH_KAFKA_SASL_PASSWORD": secret_ref("kafka-sasl", "password"),
            "OUTREACH_KAFKA_SSL_CHECK_HOSTNAME": {"value": "true"},
            "OUTREACH_KAFKA_SSL_CAFILE": {"value": f"{TLS_DIR}/ca.crt"},
            "OUTREACH_KAFKA_SSL_CERTFILE": {"value": f"{TLS_DIR}/tls.crt"},
            "OUTREACH_KAFKA_SSL_KEYFILE": {"value": f"{TLS_DIR}/tls.key"},
            "OUTREACH_KAFKA_SSL_KEY_PASSWORD": secret_ref("kafka-tls", "key-password"),
        }
        assert {"name": "kafka-tls", "mountPath": TLS_DIR, "readOnly": True} in container[
            "volumeMounts"]
    for spec in pod_specs(docs):
        assert {"name": "kafka-tls", "secret": {"secretName": "kafka-tls", "defaultMode": 0o440}
                } in spec["volumes"]


def test_every_kafka_variable_the_chart_sets_is_one_the_hub_reads(
        render: Callable[..., list[Manifest]]) -> None:
    known = {f"OUTREACH_KAFKA_{n.upper()}" for n in KafkaSecurity.model_fields}
    known.add("OUTREACH_KAFKA_BOOTSTRAP")
    for container in containers(render(SCRAM_SSL)):
        assert set(kafka_env(container)) <= known


def test_by_default_plaintext_and_no_tls_volume(render: Callable[..., list[Manifest]]) -> None:
    docs = render()
    for container in containers(docs):
        assert set(kafka_env(container)) == {"OUTREACH_KAFKA_BOOTSTRAP",
                                             "OUTREACH_KAFKA_SECURITY_PROTOCOL"}
    assert all(v["name"] != "kafka-tls" for s in pod_specs(docs) for v in s["volumes"])


def test_tls_without_a_secret_trusts_the_system_cas(render: Callable[..., list[Manifest]]) -> None:
    docs = render({"kafka": {"bootstrap": "k:9093", "security": {
        "protocol": "SSL", "tls": {"checkHostname": False}}}})
    for container in containers(docs):
        assert {n: e.get("value") for n, e in kafka_env(container).items()} == {
            "OUTREACH_KAFKA_BOOTSTRAP": "k:9093", "OUTREACH_KAFKA_SECURITY_PROTOCOL": "SSL",
            "OUTREACH_KAFKA_SSL_CHECK_HOSTNAME": "false"}


def _refused(values: dict[str, Any]) -> str:
    import helm_python as helm

    with pytest.raises(helm.HelmError) as caught:
        render_chart(values)
    return str(caught.value)


@pytest.mark.parametrize(("security", "says"), [
    ({"protocol": "SASL_SSL"}, "secretName"),
    ({"protocol": "SASL_PLAINTEXT", "sasl": {"secretName": ""}}, "secretName"),
    ({"protocol": "TLS"}, "protocol"),
    ({"protocol": "SASL_SSL", "sasl": {"secretName": "s", "mechanism": "GSSAPI"}}, "mechanism"),
    ({"protocol": "SSL", "tls": {"password": "x"}}, "password"),  # no literal secrets
])
def test_bad_security_values_are_refused(security: dict[str, Any], says: str) -> None:
    assert says in _refused({"kafka": {"bootstrap": "k:9093", "security": security}})


@pytest.mark.parametrize("name", ["OUTREACH_KAFKA_SASL_PASSWORD",
                                  "OUTREACH_KAFKA_SSL_KEY_PASSWORD"])
def test_a_kafka_password_given_as_a_literal_extra_env_is_refused(name: str) -> None:
    assert "never given as a value" in _refused({"extraEnv": [{"name": name, "value": "pw"}]})
