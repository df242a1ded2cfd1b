"""The operator API on a running worker, as an operator and their scripts meet it: without a
proven identity nothing is read and nothing reaches the hub; with one, the command is on the
broker as that operator's, and the answer is the hub's verdict on it.

No campaign stage runs here: the test itself plays the hub's verdict (a transition or a
refusal carrying the command's id) on `outreach.campaign.events`.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from confluent_kafka import Producer

from streams.contracts import codec
from streams.contracts.models.campaign import CampaignCommandRejected, CampaignStateChanged
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

ANN = "ann-e2e-token-0123456789abcdef"
BOB = "bob-e2e-token-0123456789abcdef"
COMMANDS = "outreach.campaign.commands"
EVENTS = "outreach.campaign.events"
WAIT_SECONDS = 4  # the API's bound on waiting for a verdict (202 after it)


@pytest.fixture(scope="module")
def broker(module_broker: str) -> str:
    return module_broker  # one broker for the module's worker and its tests




@pytest.fixture(scope="module")
async def worker(broker: str, module_database: str, module_tmp: Path
                 ) -> AsyncIterator[WorkerProcess]:
    await prepare(Settings(topic_partitions=2), broker, module_database)
    log = module_tmp / "worker.log"
    proc = WorkerProcess.start(broker, module_database, log, {
        "OUTREACH_APP_ID": f"ops-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(module_tmp / "var"), "OUTREACH_WEB_HOST": "127.0.0.1",
        # No campaign stage: these tests play the hub's verdicts themselves (the sink stays,
        # for `show`). The campaigns e2e drives the real stage through the same API.
        "OUTREACH_STAGES": "intake,gate,sequencer,sender,engagement,sink",
        "OUTREACH_OPERATOR_TOKENS": f"ann:{ANN},bob:{BOB}",
        "OUTREACH_OPERATOR_API_WAIT_SECONDS": str(WAIT_SECONDS)})
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()[-3000:]
        assert ANN not in log.read_text() and BOB not in log.read_text()


def request(worker: WorkerProcess, method: str, target: str, token: str | None = None,
            body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", worker.web_port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, target, body=None if body is None else json.dumps(body),
                     headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def read_topic(broker: str, topic: str, settle: float = 2.0, timeout: float = 20,
               until: Any = None) -> list[dict[str, Any]]:
    """Every record of the topic: until `until(records)` holds, or `settle` s without one."""
    consumer = topic_reader(broker, topic)
    out: list[dict[str, Any]] = []
    deadline, quiet = time.monotonic() + timeout, time.monotonic() + settle
    try:
        while time.monotonic() < min(deadline, quiet):
            msg = consumer.poll(0.3)
            if msg is not None and not msg.error():
                out.append({"key": msg.key().decode(), **json.loads(msg.value())})
                quiet = time.monotonic() + settle
                if until is not None and until(out):
                    break
    finally:
        consumer.close()
    return out


def verdict(broker: str, event: CampaignStateChanged | CampaignCommandRejected) -> None:
    producer = Producer({"bootstrap.servers": broker})
    producer.produce(EVENTS, key=event.campaign_id.encode(), value=codec.dumps(event))
    assert producer.flush(10) == 0


def hub_fields(n: int) -> dict[str, Any]:
    return {"event_id": f"e2e-{uuid.uuid4().hex}", "occurred_at": datetime.now(UTC),
            "correlation_id": f"corr-{n}",
            "process_id": f"outreach-execution-campaign-20260302-{n:08x}"}


def cli(worker: WorkerProcess, *argv: str, token: str = ANN) -> subprocess.Popen[str]:
    env = {**os.environ, "OUTREACH_API_URL": f"http://127.0.0.1:{worker.web_port}",
           "OUTREACH_OPERATOR_TOKEN": token}
    return subprocess.Popen([sys.executable, "-m", "streams.cli", "campaigns", *argv],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_without_a_known_token_nothing_is_read_and_nothing_produced(
    worker: WorkerProcess, broker: str
) -> None:
    assert request(worker, "GET", "/api/campaigns")[0] == 401
    assert request(worker, "GET", "/api/campaigns", token="guess-0123456789abcdefgh")[0] == 401
    assert request(worker, "GET", "/api/campaigns/cmp-e2e-1", token=ANN[:-1])[0] == 401
    status, body = request(worker, "POST", "/api/campaigns/cmp-e2e-1/approve",
                           token="guess-0123456789abcdefgh", body={"operator": "ann"})
    assert (status, body["error"]) == (401, "missing or unknown operator token")
    status, _ = request(worker, "POST", "/api/campaigns/cmp-e2e-1/approve",
                        token=ANN, body={"operator": "bob"})  # ann's token, bob's name
    assert status == 403
    assert read_topic(broker, COMMANDS) == []


def test_a_proven_operators_command_is_on_the_topic_as_theirs(
    worker: WorkerProcess, broker: str
) -> None:
    started = time.monotonic()
    status, body = request(worker, "POST", "/api/campaigns/cmp-e2e-2/approve", token=BOB,
                           body={"note": "fine", "approval": {"max_sends_per_day": 50}})
    # Nobody decides here: the answer says the command is on the broker, after the bound.
    assert status == 202 and body["status"] == "pending"
    assert WAIT_SECONDS <= time.monotonic() - started < WAIT_SECONDS + 5
    (command,) = read_topic(broker, COMMANDS, until=lambda r: len(r) >= 1)
    assert command["key"] == "cmp-e2e-2" and command["campaign_id"] == "cmp-e2e-2"
    assert (command["command"], command["actor"]) == ("approve", "operator:bob")
    assert command["command_id"] == body["command_id"]
    assert command["note"] == "fine" and command["approval"]["max_sends_per_day"] == 50


def test_the_answer_is_the_hubs_verdict_on_that_command(
    worker: WorkerProcess, broker: str
) -> None:
    command_id = f"e2e-{uuid.uuid4().hex}"
    answer: dict[str, Any] = {}

    def post() -> None:
        answer["got"] = request(worker, "POST", "/api/campaigns/cmp-e2e-3/resume", token=ANN,
                                body={"operator": "ann", "command_id": command_id})

    thread = threading.Thread(target=post)
    thread.start()
    read_topic(broker, COMMANDS, until=lambda r: any(c["command_id"] == command_id for c in r))
    # Another command's verdict first: it must not answer this one.
    verdict(broker, CampaignStateChanged(**hub_fields(1), campaign_id="cmp-e2e-3", version=4,
                                         from_state="paused", to_state="active",
                                         actor="operator:ann", command_id="someone-else-1"))
    verdict(broker, CampaignStateChanged(**hub_fields(2), campaign_id="cmp-e2e-3", version=5,
                                         from_state="paused", to_state="active",
                                         actor="operator:ann", command_id=command_id))
    thread.join(WAIT_SECONDS + 10)
    status, body = answer["got"]
    assert status == 200
    assert (body["status"], body["state"], body["version"]) == ("accepted", "active", 5)


async def test_the_cli_lists_shows_and_exits_non_zero_on_a_refusal(
    worker: WorkerProcess, broker: str, module_database: str
) -> None:
    conn = await asyncpg.connect(module_database)
    try:
        await conn.executemany(
            "INSERT INTO outreach.campaigns (campaign_id, state, version, tier, company_sov_id) "
            "VALUES ($1, $2, $3, $4, $5)",
            [("cmp-e2e-list-1", "draft", 1, "HOT", "sov-a"),
             ("cmp-e2e-list-2", "active", 3, "BURNING", "sov-b")])
    finally:
        await conn.close()
    listed = cli(worker, "list", "--json")
    out, err = listed.communicate(timeout=60)
    assert listed.returncode == 0, err
    rows = {r["campaign_id"]: r for r in json.loads(out)}
    assert {"cmp-e2e-list-1", "cmp-e2e-list-2"} <= set(rows)
    assert {k: rows["cmp-e2e-list-2"][k] for k in ("state", "company_sov_id", "tier")} == {
        "state": "active", "company_sov_id": "sov-b", "tier": "BURNING"}
    drafts = cli(worker, "list", "--state", "draft")
    out, _ = drafts.communicate(timeout=60)
    assert "cmp-e2e-list-1" in out and "cmp-e2e-list-2" not in out

    # The refusal: the CLI's own command id comes back with the hub's reason.
    paused = cli(worker, "resume", "cmp-e2e-list-2", "--operator", "ann")
    (command,) = [c for c in read_topic(broker, COMMANDS, settle=10, until=lambda r: any(
        c["campaign_id"] == "cmp-e2e-list-2" for c in r)) if c["campaign_id"] == "cmp-e2e-list-2"]
    assert command["actor"] == "operator:ann"
    verdict(broker, CampaignCommandRejected(
        **hub_fields(3), campaign_id="cmp-e2e-list-2", command_id=command["command_id"],
        command="resume", actor="operator:ann", state="paused", version=3, code="health_pause",
        reason="a health pause is lifted only by a new approval"))
    out, err = paused.communicate(timeout=60)
    assert paused.returncode == 1 and out == ""
    assert err.strip() == ("error: resume cmp-e2e-list-2 refused: a health pause is lifted "
                           "only by a new approval")

    # A wrong token: one line, exit 2, and nothing new on the topic.
    before = len(read_topic(broker, COMMANDS))
    bad = cli(worker, "pause", "cmp-e2e-list-2", "--operator", "ann",
              token="guess-0123456789abcdefgh")
    _, err = bad.communicate(timeout=60)
    assert bad.returncode == 2
    assert err.strip() == ("error: the hub's API answered 401: missing or unknown operator "
                           "token")
    assert len(read_topic(broker, COMMANDS)) == before

    shown = cli(worker, "show", "cmp-e2e-3")  # its verdict above went through the sink
    deadline = time.monotonic() + 20
    out, err = shown.communicate(timeout=60)
    while "paused -> active" not in out and time.monotonic() < deadline:
        time.sleep(0.5)
        shown = cli(worker, "show", "cmp-e2e-3")
        out, err = shown.communicate(timeout=60)
    assert shown.returncode == 0, err
    assert "paused -> active" in out and "operator:ann" in out
