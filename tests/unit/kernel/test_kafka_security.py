"""The Kafka security settings and exactly what reaches aiokafka and Faust for each of them."""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from tls_certs import KEY_PASSWORD, Pki, make_pki

from streams.app import create_app
from streams.contracts.exceptions import ConfigurationError, HubError
from streams.kernel.kafka_security import client_kwargs, faust_credentials
from streams.kernel.settings import Settings

PASSWORD = "sasl-Pa55-w0rd-7c1e"
BOOTSTRAP = {"OUTREACH_KAFKA_BOOTSTRAP": "kafka-1:9093,kafka-2:9093",
             "OUTREACH_DATABASE_URL": "postgresql://u@db/outreach"}
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def settings(**env: str) -> Settings:
    return Settings.from_env({**BOOTSTRAP, **{f"OUTREACH_KAFKA_{k.upper()}": v
                                              for k, v in env.items()}})


def sasl(protocol: str, mechanism: str, **more: str) -> Settings:
    return settings(security_protocol=protocol, sasl_mechanism=mechanism,
                    sasl_username="hub", sasl_password=PASSWORD, **more)


CASES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("PLAINTEXT", None, {"security_protocol": "PLAINTEXT"}),
    ("SSL", None, {"security_protocol": "SSL", "ssl_context": ssl.SSLContext}),
    *[("SASL_PLAINTEXT", m, {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": m,
                             "sasl_plain_username": "hub", "sasl_plain_password": PASSWORD})
      for m in MECHANISMS],
    *[("SASL_SSL", m, {"security_protocol": "SASL_SSL", "sasl_mechanism": m,
                       "sasl_plain_username": "hub", "sasl_plain_password": PASSWORD,
                       "ssl_context": ssl.SSLContext}) for m in MECHANISMS],
]


def _settings_for(protocol: str, mechanism: str | None, pki: Pki) -> Settings:
    tls = {"ssl_cafile": str(pki.ca)} if protocol.endswith("SSL") else {}
    if mechanism is None:
        return settings(security_protocol=protocol, **tls)
    return sasl(protocol, mechanism, **tls)


@pytest.mark.parametrize(("protocol", "mechanism", "expected"), CASES)
def test_each_protocol_and_mechanism_gives_exactly_these_aiokafka_arguments(
        protocol: str, mechanism: str | None, expected: dict[str, Any], pki: Pki) -> None:
    kwargs = client_kwargs(_settings_for(protocol, mechanism, pki).kafka)
    assert kwargs.keys() == expected.keys()
    for key, want in expected.items():
        if want is ssl.SSLContext:
            context = kwargs[key]
            assert isinstance(context, ssl.SSLContext)
            assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
            assert [c["subject"] for c in context.get_ca_certs()] == [
                ((("commonName", "hub test CA"),),)]
        else:
            assert kwargs[key] == want


@pytest.mark.parametrize(("protocol", "mechanism", "expected"), CASES)
def test_aiokafka_accepts_them_for_the_producer_the_consumer_and_the_admin_client(
        protocol: str, mechanism: str | None, expected: dict[str, Any], pki: Pki) -> None:
    kwargs = client_kwargs(_settings_for(protocol, mechanism, pki).kafka)

    async def build() -> None:
        producer = AIOKafkaProducer(bootstrap_servers="kafka-1:9093", **kwargs)
        consumer = AIOKafkaConsumer(bootstrap_servers="kafka-1:9093", **kwargs)
        admin = AIOKafkaAdminClient(bootstrap_servers="kafka-1:9093", **kwargs)
        for client in (producer.client, consumer._client, admin._client):
            assert client._security_protocol == protocol
            assert client._sasl_mechanism == (mechanism or "PLAIN")
            assert (client._ssl_context is not None) == protocol.endswith("SSL")
        await producer.stop()
        await consumer.stop()
        await admin.close()

    asyncio.run(build())


@pytest.mark.parametrize(("protocol", "mechanism", "expected"), CASES)
def test_the_faust_app_hands_its_clients_the_same_arguments(
        protocol: str, mechanism: str | None, expected: dict[str, Any], pki: Pki) -> None:
    s = _settings_for(protocol, mechanism, pki)
    app = create_app(s, s.kafka_bootstrap or "", "postgresql://u@db/outreach").app
    credentials = app.conf.broker_credentials
    if protocol == "PLAINTEXT":
        assert credentials is None
    elif protocol == "SSL":
        assert isinstance(credentials, faust.SSLCredentials)
    else:
        assert isinstance(credentials, faust.SASLCredentials)
        assert (credentials.username, credentials.password) == ("hub", PASSWORD)
        assert credentials.mechanism.value == mechanism
    # What Faust's consumer, producer and topic creation pass to aiokafka.
    for faust_kwargs in (credentials_to_aiokafka_auth(credentials, app.conf.ssl_context),
                         app.producer._settings_auth()):
        given = {k: v for k, v in faust_kwargs.items() if v is not None}  # ssl_context=None
        assert given == client_kwargs(s.kafka)
    # The broker URL keeps its scheme and every bootstrap server.
    assert [str(u) for u in app.conf.broker] == ["kafka://kafka-1:9093", "kafka://kafka-2:9093"]


def test_tls_presents_the_client_certificate_and_can_skip_the_host_name(pki: Pki) -> None:
    s = settings(security_protocol="SSL", ssl_cafile=str(pki.ca),
                 ssl_certfile=str(pki.client_cert), ssl_keyfile=str(pki.client_key_encrypted),
                 ssl_key_password=KEY_PASSWORD, ssl_check_hostname="false")
    context = client_kwargs(s.kafka)["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and not context.check_hostname


def test_without_a_ca_file_tls_trusts_the_system_cas() -> None:
    context = client_kwargs(settings(security_protocol="SSL").kafka)["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_protocol_and_mechanism_are_read_in_any_case() -> None:
    s = sasl("sasl_ssl", "scram_sha_512")
    assert (s.kafka.security_protocol, s.kafka.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-512")


def _refusal(env: dict[str, str]) -> str:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    return str(refused.value)


@pytest.mark.parametrize(("env", "says"), [
    ({"SECURITY_PROTOCOL": "SASL_SSL"}, "SASL_SSL needs OUTREACH_KAFKA_SASL_MECHANISM, "
     "OUTREACH_KAFKA_SASL_USERNAME, OUTREACH_KAFKA_SASL_PASSWORD"),
    ({"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_MECHANISM": "PLAIN",
      "SASL_USERNAME": "hub"}, "SASL_PLAINTEXT needs OUTREACH_KAFKA_SASL_PASSWORD"),
    ({"SECURITY_PROTOCOL": "SASL_SSL", "SASL_MECHANISM": "GSSAPI", "SASL_USERNAME": "hub",
      "SASL_PASSWORD": PASSWORD}, "OUTREACH_KAFKA_SASL_MECHANISM: Input should be 'PLAIN'"),
    ({"SECURITY_PROTOCOL": "TLS"}, "OUTREACH_KAFKA_SECURITY_PROTOCOL: Input should be"),
    ({"SASL_USERNAME": "hub", "SASL_PASSWORD": PASSWORD},
     "OUTREACH_KAFKA_SASL_USERNAME, OUTREACH_KAFKA_SASL_PASSWORD set but "
     "OUTREACH_KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use SASL"),
    ({"SECURITY_PROTOCOL": "SASL_PLAINTEXT", "SASL_MECHANISM": "SCRAM-SHA-256",
      "SASL_USERNAME": "hub", "SASL_PASSWORD": PASSWORD, "SSL_CAFILE": "ca.pem"},
     "OUTREACH_KAFKA_SSL_CAFILE set but OUTREACH_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT does "
     "not use TLS"),
    ({"SECURITY_PROTOCOL": "SSL", "SSL_CAFILE": "/nonexistent/ca.pem"},
     "OUTREACH_KAFKA_SSL_CAFILE: no such file: /nonexistent/ca.pem"),
    ({"SECURITY_PROTOCOL": "SSL", "SSL_KEYFILE": "client.key"},
     "OUTREACH_KAFKA_SSL_KEYFILE is set without OUTREACH_KAFKA_SSL_CERTFILE"),
    ({"SECURITY_PROTOCOL": "SSL", "SSL_KEY_PASSWORD": PASSWORD},
     "OUTREACH_KAFKA_SSL_KEY_PASSWORD is set without OUTREACH_KAFKA_SSL_CERTFILE"),
])
def test_bad_combinations_are_refused_in_one_line_without_the_password(
        env: dict[str, str], says: str) -> None:
    message = _refusal({**BOOTSTRAP, **{f"OUTREACH_KAFKA_{k}": v for k, v in env.items()}})
    assert says in message
    assert "\n" not in message and PASSWORD not in message


def test_the_embedded_broker_speaks_plaintext_only() -> None:
    message = _refusal({"OUTREACH_KAFKA_SECURITY_PROTOCOL": "SSL"})
    assert "OUTREACH_KAFKA_SECURITY_PROTOCOL=SSL needs OUTREACH_KAFKA_BOOTSTRAP" in message


@pytest.mark.parametrize("password", [None, "not-the-password"])
def test_a_key_its_password_does_not_open_is_one_line_without_it(
        pki: Pki, password: str | None) -> None:
    env = {"security_protocol": "SSL", "ssl_certfile": str(pki.client_cert),
           "ssl_keyfile": str(pki.client_key_encrypted)}
    if password:
        env["ssl_key_password"] = password
    with pytest.raises(ConfigurationError) as refused:
        client_kwargs(settings(**env).kafka)
    message = str(refused.value)
    assert "OUTREACH_KAFKA_SSL_KEY_PASSWORD" in message and "\n" not in message
    assert (password or KEY_PASSWORD) not in message and KEY_PASSWORD not in message


def test_a_ca_file_that_is_not_a_certificate_is_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="OUTREACH_KAFKA_SSL_CAFILE holds no"):
        client_kwargs(settings(security_protocol="SSL", ssl_cafile=str(bogus)).kafka)


def test_no_password_in_any_repr(pki: Pki) -> None:
    s = sasl("SASL_SSL", "SCRAM-SHA-512", ssl_cafile=str(pki.ca),
             ssl_certfile=str(pki.client_cert), ssl_keyfile=str(pki.client_key_encrypted),
             ssl_key_password=KEY_PASSWORD)
    shown = " ".join([repr(s), str(s), repr(s.kafka), repr(faust_credentials(s.kafka)),
                      str(s.model_dump())])
    assert PASSWORD not in shown and KEY_PASSWORD not in shown


def test_plain_over_sasl_plaintext_is_a_warning_when_a_worker_starts(
        caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    from streams.runtime import run_worker

    assert sasl("SASL_PLAINTEXT", "SCRAM-SHA-256").kafka.warnings() == []
    assert sasl("SASL_SSL", "PLAIN").kafka.warnings() == []
    s = sasl("SASL_PLAINTEXT", "PLAIN").model_copy(update={"data_dir": tmp_path})
    with caplog.at_level(logging.WARNING), pytest.raises(HubError):
        run_worker(s, "127.0.0.1:1", "postgresql://u@127.0.0.1:1/outreach")  # nothing listens
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("PLAIN over SASL_PLAINTEXT sends the Kafka password in clear" in w
               for w in warned)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
