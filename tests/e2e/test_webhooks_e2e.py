"""Provider webhooks posted to a real worker: signed posts reach email-provider.events under
the person's key, forged ones are refused with 401 and leave nothing on the topic.

One worker with all four providers configured serves the module; the SNS certificate and the
subscription confirmation are served over https by the test, on a trusted local host, with a
CA the worker trusts (there is no internet here).
"""

from __future__ import annotations

import http.client
import http.server
import ssl
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from prometheus_client.parser import text_string_to_metric_families
from webhook_signing import (
    fixture,
    iso,
    mailgun_signed,
    sendgrid_headers,
    sendgrid_keys,
    sns_certificate,
    sns_signed,
)

from agents.engagement.ingress import postmark
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

PERSON = "5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c"
MAILGUN_KEY = "mailgun-e2e-signing-key-0123456789"
POSTMARK_USER, POSTMARK_PASSWORD = "hooks", "postmark-e2e-password"
TOPIC = "arn:aws:sns:us-east-1:123456789012:outreach-ses-events"
SENDGRID_PRIVATE, SENDGRID_PUBLIC = sendgrid_keys()
CA_KEY, CA_PEM = sns_certificate("e2e test CA")
TLS_KEY, TLS_PEM = sns_certificate("localhost", CA_KEY, "e2e test CA")
SNS_KEY, SNS_PEM = sns_certificate("sns.amazonaws.com")


class Https:
    """The SNS side: serves the signing certificate and records confirmation requests."""

    def __init__(self, directory: Path) -> None:
        (directory / "tls.pem").write_bytes(TLS_PEM + TLS_KEY.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = SNS_PEM if self.path.endswith(".pem") else b"<ConfirmSubscriptionResponse/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(directory / "tls.pem")
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def sns(module_tmp: Path) -> Iterator[Https]:
    server = Https(module_tmp)
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def broker(module_broker: str) -> str:
    return module_broker  # one broker for the module's worker and its tests




@pytest.fixture(scope="module")
async def worker(broker: str, module_database: str, module_tmp: Path, sns: Https
                 ) -> AsyncIterator[WorkerProcess]:
    await prepare(Settings(topic_partitions=2), broker, module_database)
    (module_tmp / "ca.pem").write_bytes(CA_PEM)
    log = module_tmp / "worker.log"
    proc = WorkerProcess.start(broker, module_database, log, {
        "OUTREACH_APP_ID": f"hooks-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(module_tmp / "var"), "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY": SENDGRID_PUBLIC,
        "OUTREACH_MAILGUN_SIGNING_KEY": MAILGUN_KEY,
        "OUTREACH_POSTMARK_WEBHOOK_USER": POSTMARK_USER,
        "OUTREACH_POSTMARK_WEBHOOK_PASSWORD": POSTMARK_PASSWORD,
        "OUTREACH_SES_TOPIC_ARNS": TOPIC, "OUTREACH_SES_TRUSTED_CERT_HOSTS": "localhost",
        "SSL_CERT_FILE": str(module_tmp / "ca.pem")})  # the worker trusts the test's CA
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()[-3000:]


def post(worker: WorkerProcess, provider: str, body: bytes,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", worker.web_port, timeout=20)
    try:
        conn.request("POST", f"/webhooks/{provider}", body=body,
                     headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        conn.close()


def produced(broker: str, expected: int, timeout: float = 20) -> list[tuple[bytes | None, Any]]:
    consumer = topic_reader(broker, "email-provider.events")
    out: list[tuple[bytes | None, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:  # past `expected`, a little more: one too many shows
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                out.append((msg.key(), orjson.loads(msg.value() or b"null")))
            elif len(out) >= expected:
                break
    finally:
        consumer.close()
    return out


def marked(name: str, mark: str) -> bytes:
    """A fixture body made unique, so each post is found (or not) on the topic."""
    doc = orjson.loads(fixture(name))
    if name.startswith("sendgrid"):
        doc = [{**e, "sg_event_id": f"{mark}-{i}"} for i, e in enumerate(doc[:5])]
    elif name.startswith("mailgun"):
        doc["event-data"]["id"] = mark
    elif name.startswith("postmark"):
        doc["MessageID"] = mark
    else:
        doc["MessageId"] = mark
    return orjson.dumps(doc)


def mark_of(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]["sg_event_id"]).rsplit("-", 1)[0]
    return str(value.get("event-data", {}).get("id") or value.get("MessageID")
               or value.get("MessageId"))


def sns_doc(sns: Https, mark: str, **changes: Any) -> dict[str, Any]:
    doc = orjson.loads(marked("ses_open.json", mark))
    doc.pop("Signature")
    return {**doc, "TopicArn": TOPIC, "Timestamp": iso(time.time()),
            "SigningCertURL": f"{sns.base}/SimpleNotificationService-e2e.pem", **changes}


def test_signed_webhooks_are_produced_under_the_person_and_forged_ones_refused(
    worker: WorkerProcess, broker: str, sns: Https
) -> None:
    now = time.time()
    forger, _ = sendgrid_keys()
    forged_sns, _ = sns_certificate("sns.amazonaws.com")
    sg_forged, sg_signed = marked("sendgrid_batch.json", "sg-forged"), marked(
        "sendgrid_batch.json", "sg-signed")
    mg = orjson.loads(fixture("mailgun_opened.json"))
    # Refused posts first: anything they published would be on the topic before the rest.
    refused = [
        ("sendgrid", sg_forged, sendgrid_headers(forger, sg_forged, now)),
        ("sendgrid", sg_forged, {}),
        ("mailgun", orjson.dumps(mailgun_signed(b"not-the-key", {
            **mg, "event-data": {**mg["event-data"], "id": "mg-forged"}}, now)), {}),
        ("postmark", marked("postmark_open.json", "pm-forged"),
         {"Authorization": postmark.authorization(POSTMARK_USER, "guessed")}),
        ("ses", orjson.dumps(sns_signed(forged_sns, sns_doc(sns, "ses-forged"))), {}),
    ]
    for provider, body, headers in refused:
        status, answer = post(worker, provider, body, headers)
        assert (status, answer) == (401, {"status": "refused"}), provider
    mg_signed = orjson.dumps(mailgun_signed(MAILGUN_KEY.encode(), {
        **mg, "event-data": {**mg["event-data"], "id": "mg-signed"}}, now))
    signed = [
        ("sendgrid", sg_signed, sendgrid_headers(SENDGRID_PRIVATE, sg_signed, now)),
        ("mailgun", mg_signed, {}),
        ("postmark", marked("postmark_open.json", "pm-signed"),
         {"Authorization": postmark.authorization(POSTMARK_USER, POSTMARK_PASSWORD)}),
        ("ses", orjson.dumps(sns_signed(SNS_KEY, sns_doc(sns, "ses-signed"), "2")), {}),
    ]
    for provider, body, headers in signed:
        status, answer = post(worker, provider, body, headers)
        assert (status, answer) == (200, {"status": "accepted", "records": 1}), provider
    # The same Mailgun post again is a replay: refused, and not produced twice.
    assert post(worker, "mailgun", mg_signed)[0] == 401

    records = produced(broker, expected=4)
    assert sorted((key, mark_of(value)) for key, value in records) == [
        (PERSON.encode(), mark) for mark in ("mg-signed", "pm-signed", "ses-signed", "sg-signed")]
    # One line per refusal, naming the provider and the reason; no body, no address.
    log = worker.log_path.read_text()
    for line in ("webhook sendgrid: refused (401): signature does not verify",
                 "webhook sendgrid: refused (401): unsigned", "webhook mailgun: refused (401): "
                 "replayed", "webhook postmark: refused (401): credentials do not match",
                 "webhook ses: refused (401): signature does not verify"):
        assert line in log
    assert "@example.com" not in log and "jane" not in log

    # And the hub reads them: the four opens are applied by the engagement stage.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and opens_applied(worker) < 4:
        time.sleep(0.3)
    assert opens_applied(worker) == 4


def opens_applied(worker: WorkerProcess) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", worker.web_port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "outreach_engagement_events_total"
               and s.labels.get("type") == "opened" and s.labels.get("outcome") == "applied")


def test_an_sns_subscription_is_confirmed_only_when_signed(
    worker: WorkerProcess, sns: Https
) -> None:
    confirm = f"{sns.base}/?Action=ConfirmSubscription&Token=e2e"
    doc = {**orjson.loads(fixture("ses_subscription_confirmation.json")), "TopicArn": TOPIC,
           "MessageId": str(uuid.uuid4()), "Timestamp": iso(time.time()), "SubscribeURL": confirm,
           "SigningCertURL": f"{sns.base}/SimpleNotificationService-e2e.pem"}
    doc.pop("Signature")
    forger, _ = sns_certificate("sns.amazonaws.com")
    assert post(worker, "ses", orjson.dumps(sns_signed(forger, doc)))[0] == 401
    assert not [r for r in sns.requests if "Confirm" in r]
    status, answer = post(worker, "ses", orjson.dumps(sns_signed(SNS_KEY, doc)))
    assert (status, answer) == (200, {"status": "subscribed", "records": 0})
    assert [r for r in sns.requests if "Confirm" in r] == ["/?Action=ConfirmSubscription&Token=e2e"]
