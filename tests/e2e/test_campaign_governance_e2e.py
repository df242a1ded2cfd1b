"""Health and audit govern a running campaign, on the real broker and PostgreSQL.

(a) A campaign running on two workers of one group: a burst of complaints pauses it on both
within seconds and neither requests another touch for it; an operator's resume is refused with
the hub's reason; a new approval naming the health verdict it overrides makes it active again.
(b) The auditor (the campaign stage's timer): a campaign whose sequences all ended cleanly gets
PASS and is completed; one with a send of content nobody approved gets FAIL, is failed, and an
AUDIT-FAILED incident goes to outreach.errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from agents.campaigns.identity import campaign_id_for
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.test_campaign_launch_e2e import rows, verdict, wait_for
from tests.e2e.topic_reader import topic_reader

pytestmark = pytest.mark.e2e

SPEED = 86400.0  # one wall second is one hub day: a HOT sequence's touches come 3 s apart
TOKEN = "ann-e2e-0123456789abcdef"


def hub_env(tmp_path: Path, app_id: str, anchor: float, name: str,
            **extra: str) -> dict[str, str]:
    return {
        "OUTREACH_APP_ID": app_id, "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(tmp_path / f"var-{name}"), "OUTREACH_CLOCK_SPEED": str(SPEED),
        "OUTREACH_CLOCK_ANCHOR": str(anchor), "OUTREACH_WINDOW_START_HOUR": "0",
        "OUTREACH_WINDOW_END_HOUR": "24", "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6",
        "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25", "OUTREACH_SANDBOX_ENGAGEMENT": "false",
        "OUTREACH_CAMPAIGN_CHECK_SECONDS": "0.5", "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_AUTO_APPROVE_TIERS": "HOT", "OUTREACH_OPERATOR_TOKENS": f"ann:{TOKEN}",
        **extra}


def publish(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for key, value in records:
        producer.produce(topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


class Reader:
    """A reader of one topic from its start; `drain` collects what has arrived."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = topic_reader(bootstrap, topic)
        self.seen: list[dict[str, Any]] = []

    def drain(self, seconds: float = 1.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            msg = self.consumer.poll(0.1)
            if msg is not None and not msg.error():
                self.seen.append(json.loads(msg.value()))
        return self.seen

    def close(self) -> None:
        self.consumer.close()


def complaint(campaign: str, n: int, at: datetime) -> tuple[str, bytes]:
    # Complaints of addresses outside the sequences, so no person's own stop hides the pause.
    key = f"ck-complainer-{n}"
    return key, json.dumps({
        "event_id": f"complained-{campaign}-{n}", "occurred_at": at.isoformat(),
        "correlation_id": "corr-burst", "process_id": "outreach-execution-engage-20261123-0a1b2c3d",
        "aggregate_id": f"seq-burst:{key}", "contact_key": key, "campaign_id": campaign,
        "provider": "sandbox", "provider_event_id": f"p-complained-{campaign}-{n}",
        "type": "complained"}).encode()


def operator(worker: WorkerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OUTREACH_API_URL": f"http://127.0.0.1:{worker.web_port}",
           "OUTREACH_OPERATOR_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "streams.cli", "campaigns", *args],
                          env=env, capture_output=True, text=True, timeout=90)


def state_sql(campaign_id: str) -> str:
    return (f"SELECT state, health_verdict_id, approved_by FROM outreach.campaigns "
            f"WHERE campaign_id = '{campaign_id}'")


async def test_complaints_pause_on_two_workers_resume_refused_new_approval_resumes(
        broker: str, database_url: str, tmp_path: Path) -> None:
    campaign = campaign_id_for("cmp_g", "PERSONALIZED_EMAIL")
    await prepare(Settings(topic_partitions=2), broker, database_url)
    app_id, anchor = f"gov-{uuid.uuid4().hex[:8]}", time.time()
    workers = [WorkerProcess.start(broker, database_url, tmp_path / f"w{i}.log", hub_env(
        tmp_path, app_id, anchor, f"w{i}", OUTREACH_HEALTH_MIN_SENDS="2")) for i in (1, 2)]
    requests, events = (Reader(broker, "outreach.send.requests"),
                        Reader(broker, "outreach.campaign.events"))
    try:
        for w in workers:
            w.wait_ready(120)
        publish(broker, "outreach.gate.verdict",
                [("cmp_g", verdict(n, "cmp_g")) for n in range(6)])
        await wait_for(database_url, state_sql(campaign), lambda r: r and r[0][0] == "active", 60)
        await wait_for(database_url, f"SELECT count(*) FROM outreach.send_log WHERE "
                       f"campaign_id = '{campaign}'", lambda r: r[0][0] >= 2, 60)

        hub_now = datetime.fromtimestamp(anchor + (time.time() - anchor) * SPEED, UTC)
        burst_at = time.monotonic()
        publish(broker, "outreach.engagement.events",
                [complaint(campaign, n, hub_now) for n in range(3)])
        [paused] = await wait_for(database_url, state_sql(campaign),
                                  lambda r: r and r[0][0] == "paused", 20)
        latency = time.monotonic() - burst_at
        print(f"\ncomplaint burst -> campaign paused in outreach.campaigns: {latency:.2f}s")
        assert latency < 10
        assert paused[1]
        def health_paused() -> bool:
            return any(e.get("campaign_id") == campaign and e.get("to_state") == "paused"
                       and e.get("actor") == "system:health" for e in events.seen)

        deadline = time.monotonic() + 15
        while not health_paused() and time.monotonic() < deadline:
            events.drain(0.5)
        assert health_paused(), [e.get("to_state") for e in events.seen]

        # A touch in flight when the pause landed may still show; then a hub week passes
        # (two more touches due per person) and neither worker requests one.
        time.sleep(1.0)
        before = len([r for r in requests.drain(1) if r.get("campaign_id") == campaign])
        assert before >= 2
        time.sleep(6)
        after = len([r for r in requests.drain(1) if r.get("campaign_id") == campaign])
        assert after == before, f"{after - before} touches requested after the pause"

        resume = operator(workers[1], "resume", campaign, "--operator", "ann")
        assert resume.returncode != 0
        assert "health verdict" in resume.stderr and resume.stderr.count("\n") <= 1, \
            resume.stderr
        assert (await rows(database_url, state_sql(campaign)))[0][0] == "paused"

        # The verdict to override is the latest PAUSE (the domain's may follow the campaign's).
        [[state, verdict_id, _]] = await rows(database_url, state_sql(campaign))
        assert (state, bool(verdict_id)) == ("paused", True)
        approve = operator(workers[0], "approve", campaign, "--operator", "ann",
                           "--overrides-health-verdict", verdict_id)
        assert approve.returncode == 0, approve.stderr
        [active] = await wait_for(database_url, state_sql(campaign),
                                  lambda r: r and r[0][0] == "active", 30)
        assert (active[1], active[2]) == (None, "operator:ann")
    finally:
        requests.close()
        events.close()
        for i, w in enumerate(workers, 1):
            assert w.stop() == 0, (tmp_path / f"w{i}.log").read_text()[-3000:]


async def test_audit_passes_a_clean_campaign_and_fails_a_planted_violation(
        broker: str, database_url: str, tmp_path: Path) -> None:
    clean = campaign_id_for("cmp_p", "PERSONALIZED_EMAIL")
    planted = campaign_id_for("cmp_f", "PERSONALIZED_EMAIL")
    await prepare(Settings(topic_partitions=2), broker, database_url)
    worker = WorkerProcess.start(broker, database_url, tmp_path / "w.log", hub_env(
        tmp_path, f"aud-{uuid.uuid4().hex[:8]}", time.time(), "w",
        OUTREACH_CAMPAIGN_AUDIT_CHECK_SECONDS="1", OUTREACH_CAMPAIGN_AUDIT_SETTLE_SECONDS="0"))
    errors = Reader(broker, "outreach.errors")
    try:
        worker.wait_ready(120)
        publish(broker, "outreach.gate.verdict",
                [(c, verdict(n, c)) for c in ("cmp_p", "cmp_f") for n in range(2)])
        await wait_for(database_url, "SELECT campaign_id FROM outreach.campaigns WHERE state "
                       "= 'active'", lambda r: len(r) == 2, 60)
        [seq] = (await wait_for(database_url, f"SELECT aggregate_id FROM outreach.sequences "
                                f"WHERE campaign_id = '{planted}' ORDER BY 1 LIMIT 1",
                                lambda r: len(r) == 1, 30))
        # The planted violation: a send of content no approval named, inside the window.
        conn_rows = await rows(database_url, f"""
            INSERT INTO outreach.send_log (idempotency_key, aggregate_id, touch_index, status,
                provider, scheduled_at, sent_at, campaign_id, content_digest)
            VALUES ('planted-1', '{seq[0]}', 9, 'sent', 'sandbox', now(), now(), '{planted}',
                    'sha256:{"0" * 64}') RETURNING idempotency_key""")
        assert len(conn_rows) == 1

        done = await wait_for(
            database_url, "SELECT campaign_id, state, audit_verdict_id FROM outreach.campaigns "
            "WHERE state IN ('completed', 'failed') ORDER BY 1", lambda r: len(r) == 2, 90)
        assert {r[0]: r[1] for r in done} == {clean: "completed", planted: "failed"}
        logged = await rows(database_url, "SELECT campaign_id, verdict, event_id, findings "
                            "FROM outreach.audit_log WHERE campaign_id IS NOT NULL")
        assert {r[0]: r[1] for r in logged} == {clean: "PASS", planted: "FAIL"}
        assert {r[0]: r[2] for r in done} == {r[0]: r[2] for r in logged}
        assert "planted-1" in str([r[3] for r in logged if r[0] == planted])

        def incidents() -> list[dict[str, Any]]:
            return [e for e in errors.seen if e.get("code") == "AUDIT-FAILED"]

        deadline = time.monotonic() + 20
        while not incidents() and time.monotonic() < deadline:
            errors.drain(0.5)
        [incident] = incidents()
        assert planted in json.dumps(incident)
    finally:
        errors.close()
        assert worker.stop() == 0, (tmp_path / "w.log").read_text()[-3000:]
