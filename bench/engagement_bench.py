"""Engagement benchmark (issue 5): provider events per second through normalize -> state ->
CL signal on one worker, beside raw aiokafka produce throughput on the same broker, same run.

    .venv/bin/python bench/engagement_bench.py [--events 20000]

Goal: >= 15% of the raw produce rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import count_messages, raw_produce_rate

from agents.engagement.core import EngagementState, decide_event, on_send
from agents.engagement.normalize import normalize
from streams.admin import produce
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import SendRecorded
from streams.contracts.topics import load_catalog
from streams.embedded import EmbeddedBroker, EmbeddedPostgres
from streams.kernel.kafka_security import PLAINTEXT
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

PID = "outreach-execution-send-20261125-0a1b2c3d"


def sent(n: int) -> SendRecorded:
    key = f"{n:032x}"
    return SendRecorded(event_id=f"s-{n}", occurred_at=datetime(2026, 11, 25, tzinfo=UTC),
                        correlation_id=f"bit-{n % 97}", process_id=PID,
                        aggregate_id=f"bench-email-0000000000:{key}", contact_key=key,
                        company_sov_id=f"cmp_{n % 97:04d}", touch_index=1,
                        idempotency_key=f"bench-email-0000000000:{key}:step1", status="sent",
                        provider="sendgrid", provider_message_id=f"msg-{n}")


def webhook(n: int, people: int) -> bytes:
    """One SendGrid Event Webhook body: an open of person n % people's message."""
    key = f"{n % people:032x}"
    return orjson.dumps([{
        "email": "someone@example.com", "timestamp": 1795608000 + n, "event": "open",
        "sg_event_id": f"ev-{n}", "sg_message_id": f"msg-{n % people}.filter0001",
        "aggregate_id": f"bench-email-0000000000:{key}",
        "idempotency_key": f"bench-email-0000000000:{key}:step1"}])


async def worker_rate(events: int, people: int, data: Path, stages: str) -> dict[str, float]:
    broker = EmbeddedBroker(log_path=data / "tansu.log").start()
    pg = EmbeddedPostgres(data / "pg").start()
    worker = None
    try:
        raw = await raw_produce_rate(broker.bootstrap, "bench.raw-aiokafka")
        topics = load_catalog(partitions_override=4)
        await prepare(Settings(topic_partitions=4), broker.bootstrap, pg.url)
        worker = WorkerProcess.start(broker.bootstrap, pg.url, data / "worker.log", {
            "OUTREACH_APP_ID": "bench-engage", "OUTREACH_TOPIC_PARTITIONS": "4",
            "OUTREACH_LOG_LEVEL": "warn", "OUTREACH_STAGES": stages})
        worker.wait_ready(120)
        await produce(broker.bootstrap, topics["send_events"].name,
                      [(s.contact_key.encode(), orjson.dumps(s.model_dump(mode="json")))
                       for s in map(sent, range(people))], security=PLAINTEXT)
        await asyncio.sleep(2)
        started = time.time()
        await produce(broker.bootstrap, topics["provider_events"].name,
                      [(b"any", webhook(n, people)) for n in range(events)], security=PLAINTEXT)
        seen, _, last = await count_messages(broker.bootstrap, topics["cl_signals"].name,
                                             events, timeout=900)
        return {"raw": raw, "signals": seen, "per_s": seen / max(last - started, 1e-9)}
    finally:
        if worker is not None:
            worker.stop()
        pg.stop()
        broker.stop()


def core_rate(events: int, people: int) -> float:
    """normalize -> decide_event, pure, in one process: the ceiling the shell adds cost to."""
    states = {}
    for n in range(people):
        s = sent(n)
        states[s.contact_key] = on_send(EngagementState(), s, STABLE_IDS).state
    now = datetime(2026, 12, 1, tzinfo=UTC)
    started = time.perf_counter()
    for n in range(events):
        for item in normalize(webhook(n, people)):
            key = item.aggregate_id.rsplit(":", 1)[-1]  # type: ignore[union-attr]
            states[key] = decide_event(states[key], item, now, STABLE_IDS, b"x" * 32).state
    return events / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--stages", default="engagement",
                        help="OUTREACH_STAGES of the measured worker (default: an engagement "
                             "pool's worker; 'intake,gate,sequencer,sender,engagement,sink' "
                             "for all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
        result = asyncio.run(worker_rate(args.events, args.people, Path(tmp), args.stages))
    raw = result["raw"]
    print(f"raw aiokafka produce (100k msgs, same broker): {raw:>10,.0f} msg/s")
    print(f"measured worker runs the stages:               {args.stages}")
    print(f"provider events -> CL signals ({result['signals']:.0f}), one worker: "
          f"{result['per_s']:>8,.0f} events/s ({result['per_s'] / raw:.1%} of raw; goal >= 15%)")
    core = core_rate(args.events, args.people)
    print(f"pure normalize -> decide, no Kafka:            {core:>8,.0f} events/s")


if __name__ == "__main__":
    main()
