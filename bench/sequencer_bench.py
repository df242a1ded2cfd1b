"""Sequencer benchmark (issue 4): due-touch throughput of one worker and memory per active
aggregate, beside raw aiokafka produce throughput on the same broker in the same run.

    .venv/bin/python bench/sequencer_bench.py [--people 5000] [--memory 100000,1000000]

Goals: due touches at >= 50% of the Faust floor of the same shape (bench/faust_floor.py's
100 items per input record, 2 sends + 1 table write each: a due touch is a send request, a
sequence event and the person's state), measured on the same broker after the worker stopped;
<= 1 KiB per active aggregate.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import count_messages, raw_produce_rate
from faust_floor import sequencer_shape_floor
from memory import describe

from agents.sequencer.definition import load_definitions
from agents.sequencer.enrollment import contact_key_for
from agents.sequencer.person import (
    CheckDueTouches,
    EnrollContact,
    PersonState,
    SequencerContext,
    decide_person,
)
from agents.sequencer.person_state import approved_campaign
from agents.sequencer.storage import encode
from agents.sequencer.window import DailyCaps, SendWindow
from streams.admin import produce
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import CampaignStateChanged
from streams.contracts.topics import load_catalog
from streams.embedded import EmbeddedBroker, EmbeddedPostgres
from streams.kernel.kafka_security import PLAINTEXT
from streams.kernel.schedule import DueSchedule
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

# Five touches with no spacing: a person is due again as soon as a touch is taken, so the
# worker runs flat out and the rate measured is its own, not the cadence's.
FLAT_OUT = """
PERSONALIZED_EMAIL:
  sequence_id: bench-email
  rules: {min_days_apart: 0, cooling_off_days: 0, stop_on: [replied]}
  touches:
""" + "".join(f"""    - {{index: {i}, channel: email, principal: sdr-{i % 3}, audience: buyer,
       subject: "Touch {i}", template: "bench/touch-{i}"}}
""" for i in range(1, 6)) + """
PHONE_AND_EMAIL:
  sequence_id: bench-phone
  rules: {min_days_apart: 0, cooling_off_days: 0, stop_on: [replied]}
  touches:
    - {index: 1, channel: email, principal: sdr, audience: buyer, subject: "x",
       template: "bench/touch-1"}
"""


def write_flat_out(sequences: Path) -> None:
    """The definitions and their (one-line) templates beside them."""
    sequences.write_text(FLAT_OUT)
    folder = sequences.parent / "templates" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, 6):
        for suffix in (".subject.txt", ".txt", ".html"):
            (folder / f"touch-{i}{suffix}").write_text(f"Touch {i} for {{{{ first_name }}}}\n")


CAMPAIGN = "cmp-bench"


def approved(now: datetime) -> CampaignStateChanged:
    """The bench's campaign, active with no window: only an approved campaign sends."""
    return CampaignStateChanged(
        event_id=f"campaign:{CAMPAIGN}:1", occurred_at=now, correlation_id="bench",
        process_id=f"outreach-execution-campaign-{now:%Y%m%d}-00000000", campaign_id=CAMPAIGN,
        version=1, from_state="draft", to_state="active", actor="operator:bench")


def enrollment(n: int, now: datetime) -> EnrollContact:
    email = f"person{n}@company{n % 997}.example"
    return EnrollContact(
        enrollment_id=f"bench-{n}", contact_key=contact_key_for(email), lead_id=f"lead-{n}",
        company_sov_id=f"cmp_{n % 997:04d}", campaign_id=CAMPAIGN, strategy="PERSONALIZED_EMAIL",
        tier="HOT",
        to_email=email, timezone="America/Chicago", correlation_id=f"bit-{n % 997}",
        requested_at=now)


async def worker_throughput(people: int, data: Path, stages: str, profile: int,
                            floor_records: int, idle: float) -> dict[str, Any]:
    settings = Settings(topic_partitions=4)
    broker = EmbeddedBroker(log_path=data / "tansu.log").start()
    pg = EmbeddedPostgres(data / "pg").start()
    worker = None
    try:
        topics = load_catalog(partitions_override=4)
        raw = await raw_produce_rate(broker.bootstrap, "bench.raw-aiokafka")
        await prepare(settings, broker.bootstrap, pg.url)
        sequences = data / "sequences.yaml"
        write_flat_out(sequences)
        await produce(broker.bootstrap, topics["campaign_events"].name,
                      [(CAMPAIGN.encode(), orjson.dumps(approved(datetime.now(UTC)).model_dump(
                          mode="json")))], security=PLAINTEXT)
        worker = WorkerProcess.start(broker.bootstrap, pg.url, data / "worker.log", {
            "OUTREACH_APP_ID": "bench", "OUTREACH_TOPIC_PARTITIONS": "4",
            "OUTREACH_SEQUENCES_FILE": str(sequences), "OUTREACH_SEQUENCER_TICK_SECONDS": "0.2",
            "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
            "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_CAPS_PER_MAILBOX": "1000000000",
            "OUTREACH_CAPS_PER_DOMAIN": "1000000000", "OUTREACH_LOG_LEVEL": "warn",
            "OUTREACH_SANDBOX_ENGAGEMENT": "false",
            "OUTREACH_STAGES": stages,
            **({"OUTREACH_PRODUCER_LINGER_MS": os.environ["LINGER"]} if "LINGER" in os.environ
               else {})})
        joined = worker.wait_ready(120)
        now = datetime.now(UTC)
        messages = [(e.contact_key.encode(), orjson.dumps(e.model_dump(mode="json")))
                    for e in (enrollment(n, now) for n in range(people))]
        if profile:  # py-spy is not a project dependency: install it to use --profile
            spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or "py-spy"
            subprocess.Popen([spy, "record", "-d", str(profile), "-o", "worker.pyspy",
                              "-f", "raw", "-p", str(worker.proc.pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu = psutil.Process(worker.proc.pid)
        cpu_before = sum(cpu.cpu_times()[:2])
        started = time.time()
        await produce(broker.bootstrap, topics["sequence_commands"].name, messages,
                      security=PLAINTEXT)
        total = people * 5
        seen, _first, last = await count_messages(
            broker.bootstrap, topics["send_requests"].name, total, timeout=900)
        later, l_first, l_last = await count_messages(
            broker.bootstrap, topics["send_requests"].name, people * 4, timeout=60,
            predicate=lambda v: b'"touch_index":1,' not in v)
        rss = psutil.Process(worker.proc.pid).memory_info().rss
        cpu_used = sum(cpu.cpu_times()[:2]) - cpu_before
        memory = describe(worker.proc.pid)
        await asyncio.sleep(idle)  # what the worker keeps once it has nothing to do
        steady = describe(worker.proc.pid)
        worker.stop()  # the floor runs alone, as the worker did
        worker = None
        floor = await sequencer_shape_floor(broker.bootstrap, data, floor_records)
        return {"raw_produce_per_s": raw, "join_s": joined, "touches": seen,
                "touches_per_s": seen / max(last - started, 1e-9),
                "due_touches_per_s": later / max(l_last - l_first, 1e-9),
                "worker_rss_mb": rss / 2**20, "floor_per_s": floor,
                "memory_end": memory, "memory_idle": steady,
                "cpu_us_per_touch": cpu_used / max(seen, 1) * 1e6}
    finally:
        if worker is not None:
            worker.stop()
        pg.stop()
        broker.stop()


def core_rate(people: int) -> float:
    """Pure decide_person calls per second (no Kafka): the ceiling the shell adds cost to."""
    ctx = SequencerContext(definitions=load_definitions(), caps=DailyCaps(),
                           window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))),
                           ids=STABLE_IDS, campaign_status=approved_campaign)
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    started, calls = time.perf_counter(), 0
    for n in range(people):
        cmd = enrollment(n, now)
        state = decide_person(PersonState(contact_key=cmd.contact_key), cmd, now, ctx).state
        due = state.next_due_at
        state = decide_person(state, CheckDueTouches(contact_key=cmd.contact_key, issued_at=due),
                              due, ctx).state
        encode(state)
        calls += 2
    return calls / (time.perf_counter() - started)


def memory_per_aggregate(count: int) -> float:
    """Bytes per active aggregate held as the worker holds it: the table's stored value, its
    key, and its entry in the due index. Measured as RSS growth over `count` aggregates."""
    ctx = SequencerContext(definitions=load_definitions(), caps=DailyCaps(),
                           window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))),
                           ids=STABLE_IDS, campaign_status=approved_campaign)
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    cmd = enrollment(0, now)
    state = decide_person(PersonState(contact_key=cmd.contact_key), cmd, now, ctx).state
    state = decide_person(state, CheckDueTouches(contact_key=cmd.contact_key,
                                                 issued_at=state.next_due_at),
                          state.next_due_at, ctx).state  # two touches taken, three to go
    template, key0 = encode(state), cmd.contact_key
    gc.collect()
    proc = psutil.Process()
    before = proc.memory_info().rss
    store: dict[str, str] = {}
    schedule = DueSchedule(4)
    for n in range(count):
        key = f"{n:032x}"
        store[key] = template.replace(key0, key)  # a distinct string per aggregate
        schedule.update(key, state.next_due_at)
    gc.collect()
    grown = proc.memory_info().rss - before
    del store, schedule
    return grown / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--memory", default="100000,1000000")
    parser.add_argument("--stages", default="sequencer",
                        help="OUTREACH_STAGES of the measured worker (default: a sequencer pool's "
                             "worker; 'intake,gate,sequencer,sender,engagement,sink' for all)")
    parser.add_argument("--floor-records", type=int, default=200_000,
                        help="items through the Faust floor of the same shape (at least "
                             "100,000: fewer fit in one or two batches, which give no rate)")
    parser.add_argument("--idle-seconds", type=float, default=15,
                        help="after the last touch, how long the worker idles before its "
                             "memory is read again")
    parser.add_argument("--profile", type=int, default=0,
                        help="record SECONDS of py-spy samples of the worker to worker.pyspy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
        result = asyncio.run(worker_throughput(args.people, Path(tmp), args.stages,
                                               args.profile, args.floor_records,
                                               args.idle_seconds))
    raw = result["raw_produce_per_s"]
    print(f"raw aiokafka produce (100k msgs, same broker): {raw:>10,.0f} msg/s")
    print(f"measured worker runs the stages:                 {args.stages}")
    print(f"worker joined its group in                       {result['join_s']:>6.1f} s")
    print(f"touches requested ({result['touches']:.0f} = {args.people} people x 5), "
          f"enrollment to last: {result['touches_per_s']:>8,.0f} touch/s "
          f"({result['touches_per_s'] / raw:.1%} of raw)")
    due, floor = result["due_touches_per_s"], result["floor_per_s"]
    print(f"Faust floor, 100 items per record, 2 sends + 1 table write each: {floor:>8,.0f}"
          f" items/s ({floor / raw:.1%} of raw)")
    print(f"due touches (2..5, scheduler path):              {due:>8,.0f} touch/s "
          f"({due / raw:.1%} of raw; {due / floor:.0%} of the Faust floor; goal >= 50%)")
    # Worker CPU per touch (user + system, all touches): on a shared machine the rates swing
    # with the neighbours' load, what the worker spends per touch much less.
    print(f"worker CPU per touch:                            {result['cpu_us_per_touch']:>8,.0f}"
          " us")
    print(f"worker RSS after the run:                        {result['worker_rss_mb']:>8,.0f} MB")
    print(f"worker memory after the last touch: {result['memory_end']}")
    print(f"worker memory {args.idle_seconds:.0f} s later, idle: {result['memory_idle']}")
    print(f"pure core, no Kafka:                             {core_rate(5000):>8,.0f} decisions/s")
    for count in (int(c) for c in args.memory.split(",") if c):
        per = memory_per_aggregate(count)
        print(f"memory per active aggregate at {count:>9,}:       {per:>8,.0f} B"
              f" (goal <= 1024 B)")


if __name__ == "__main__":
    main()
