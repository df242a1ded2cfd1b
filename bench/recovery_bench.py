"""Recovery benchmark (issue 14): how long a restarted sequencer worker holding N person
aggregates takes until it decides again, with the memory store (its tables rebuilt from the
changelog) and with the disk store (OUTREACH_TABLE_STORE=rocksdict).

    .venv/bin/python bench/recovery_bench.py [--people 1000000]

The sequencer's changelog is filled directly with N active aggregates (each decided by the
pure core and encoded by the table's own codec, agents/sequencer/storage.encode, with its next
touch a year away so none is due). Then, on the same changelog: a memory-store worker starts;
a disk-store worker starts (its first start also reads the changelog, into RocksDB); the
disk-store worker starts again on its data directory. Each start is timed from the process
start to the first touch of a person enrolled at that moment; a stored person enrolled again
at the same moment must be declined (the worker decided from its state, not from nothing).
Goals: <= 60 s from the changelog, <= 10 s from the disk store.

Each start's RSS is read when it decides again and --settle seconds later, once its due index
is built from the table; the two stores start once more with the due index holding every
person (OUTREACH_SEQUENCER_DUE_HORIZON_SECONDS=0, as before the horizon), for what the horizon
saves in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faust.serializers import codecs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sequencer_bench import enrollment, write_flat_out

from agents.sequencer.definition import load_definitions
from agents.sequencer.person import EnrollContact, PersonState, SequencerContext, decide_person
from agents.sequencer.storage import encode
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import CampaignStateChanged
from streams.contracts.topics import load_catalog
from streams.embedded import EmbeddedBroker, EmbeddedPostgres
from streams.kernel.partitioning import partition_for
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

PARTITIONS = 4
APP = "recovery"
CAMPAIGN = "cmp-recovery-bench"  # active: only an active campaign's persons are sent to
Result = dict[str, float | bool | None]


def enrolled(n: int, now: datetime) -> EnrollContact:
    return enrollment(n, now).model_copy(update={"campaign_id": CAMPAIGN})


async def activate_campaign(bootstrap: str, topic: str) -> None:
    event = CampaignStateChanged(
        event_id=f"campaign:{CAMPAIGN}:1", occurred_at=datetime.now(UTC), correlation_id="bench",
        process_id="outreach-execution-campaign-20261125-0a1b2c3d", campaign_id=CAMPAIGN,
        version=1, from_state=None, to_state="active", actor="bench")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=CAMPAIGN.encode(),
                                     value=orjson.dumps(event.model_dump(mode="json")))
    finally:
        await producer.stop()


def stored_people(people: int, sequences: Path, now: datetime):  # type: ignore[no-untyped-def]
    """(contact_key, encoded state) of `people` persons, each one touch into its sequence."""
    ctx = SequencerContext(definitions=load_definitions(sequences), caps=DailyCaps(),
                           window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))),
                           ids=STABLE_IDS, campaign_status=lambda _id: "active")
    later = now + timedelta(days=365)
    for n in range(people):
        cmd = enrolled(n, now)
        state = decide_person(PersonState(contact_key=cmd.contact_key), cmd, now, ctx).state
        assert state.active is not None
        state = state.model_copy(update={
            "active": state.active.model_copy(update={"next_due_at": later})})
        yield cmd.contact_key, encode(state)


async def fill_changelog(bootstrap: str, topic: str, people: int, sequences: Path) -> float:
    """Write the records Faust would write for these states: key and value through Faust's
    json codec (the value is the codec's text), on the partition of the person's commands."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20,
                                max_batch_size=1 << 20, max_request_size=8 << 20)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for n, (key, text) in enumerate(stored_people(people, sequences, datetime.now(UTC))):
            pending.append(await producer.send(
                topic, key=codecs.dumps("json", key), value=codecs.dumps("json", text),
                partition=partition_for(key, PARTITIONS)))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
                print(f"  changelog: {n + 1:>9,} of {people:,}", flush=True)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_read(bootstrap: str, topic: str) -> float:
    """The yardstick: records/s of a plain aiokafka consumer reading the whole changelog."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                max_partition_fetch_bytes=16 << 20)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        started, read, todo = time.perf_counter(), 0, {tp for tp, end in ends.items() if end}
        while todo:
            batch = await consumer.getmany(timeout_ms=1000, max_records=20_000)
            read += sum(len(records) for records in batch.values())
            todo = {tp for tp in todo if await consumer.position(tp) < ends[tp]}
        return read / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def changelog_topic(bootstrap: str) -> str:
    """The people table's changelog, named by Faust after the worker's group (app id and
    stages)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        names = [t for t in await consumer.topics() if t.endswith("sequencer-people-changelog")]
    finally:
        await consumer.stop()
    if len(names) != 1:
        raise SystemExit(f"expected one sequencer changelog topic, found {names}")
    return names[0]


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def first_touch_of(bootstrap: str, topic: str, since: dict[TopicPartition, int],
                         aggregates: set[str], wanted: str, timeout: float
                         ) -> tuple[float | None, set[str]]:
    """Wall time at which a touch for a person in `wanted` arrived, and which of the probed
    persons' touches arrived by then and in the two seconds after."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    arrived: set[str] = set()
    found: float | None = None
    try:
        consumer.assign(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    contact = orjson.loads(r.value).get("contact_key")
                    if contact in aggregates:
                        arrived.add(contact)
                        if contact == wanted and found is None:
                            found = time.time()
                            deadline = time.monotonic() + 2
    finally:
        await consumer.stop()
    return found, arrived


async def timed_start(bootstrap: str, pg: str, env: dict[str, str], log: Path, topics: dict,
                      probe: int, stored_probe: int, timeout: float, settle: float) -> Result:
    """Start a worker and enroll a new person and a stored one at once; seconds from the
    process start to the new person's first touch."""
    requests = topics["send_requests"].name
    since = await end_offsets(bootstrap, requests)
    started = time.time()
    worker = WorkerProcess.start(bootstrap, pg, log, env)
    try:
        worker.wait_ready(timeout)  # joined and assigned; recovery may still be under way
        now = datetime.now(UTC)
        fresh, again = enrolled(probe, now), enrolled(stored_probe, now)
        again = again.model_copy(update={"enrollment_id": f"again-{probe}"})
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for cmd in (fresh, again):
                await producer.send_and_wait(
                    topics["sequence_commands"].name, key=cmd.contact_key.encode(),
                    value=orjson.dumps(cmd.model_dump(mode="json")))
        finally:
            await producer.stop()
        found, arrived = await first_touch_of(
            bootstrap, requests, since, {fresh.contact_key, again.contact_key},
            fresh.contact_key, timeout)
        rss = psutil.Process(worker.proc.pid).memory_info().rss / 2**20
        await asyncio.sleep(settle)  # the due index is built from the table meanwhile
        settled = psutil.Process(worker.proc.pid).memory_info().rss / 2**20
    finally:
        worker.stop()
    return {"seconds": None if found is None else found - started, "rss_mb": rss,
            "settled_rss_mb": settled,
            "stored_declined": again.contact_key not in arrived}


async def run(people: int, data: Path, timeout: float, settle: float
              ) -> list[tuple[str, Result]]:
    """The raw read's figure first, then each start's."""
    broker = EmbeddedBroker(log_path=data / "tansu.log").start()
    pg = EmbeddedPostgres(data / "pg").start()
    try:
        await prepare(Settings(topic_partitions=PARTITIONS), broker.bootstrap, pg.url)
        topics = load_catalog(partitions_override=PARTITIONS)
        sequences = data / "sequences.yaml"
        write_flat_out(sequences)
        await activate_campaign(broker.bootstrap, topics["campaign_events"].name)
        env = {
            "OUTREACH_APP_ID": APP, "OUTREACH_TOPIC_PARTITIONS": str(PARTITIONS),
            "OUTREACH_STAGES": "sequencer", "OUTREACH_SEQUENCES_FILE": str(sequences),
            "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
            "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_LOG_LEVEL": "warn",
            "OUTREACH_SANDBOX_ENGAGEMENT": "false",
        }
        memory = {**env, "OUTREACH_DATA_DIR": str(data / "memory")}
        disk = {**env, "OUTREACH_DATA_DIR": str(data / "disk"), "OUTREACH_TABLE_STORE": "rocksdict"}
        # A first start creates the changelog topics (and the worker's group) as Faust makes them.
        first = WorkerProcess.start(broker.bootstrap, pg.url, data / "create.log", memory)
        first.wait_ready(180)
        first.stop()
        changelog = await changelog_topic(broker.bootstrap)
        filled = await fill_changelog(broker.bootstrap, changelog, people, sequences)
        print(f"changelog filled with {people:,} persons in {filled:.0f} s", flush=True)
        raw = await raw_read(broker.bootstrap, changelog)
        print(f"raw aiokafka read of the changelog: {raw:,.0f} records/s", flush=True)
        results: list[tuple[str, Result]] = [("raw", {"records_per_s": raw})]
        every = {"OUTREACH_SEQUENCER_DUE_HORIZON_SECONDS": "0"}
        for n, (name, run_env) in enumerate((
                ("memory store (changelog replay)", memory),
                ("disk store, first start (changelog into RocksDB)", disk),
                ("disk store, restart (from disk)", disk),
                ("memory store, due index holding every person", {**memory, **every}),
                ("disk store, restart, due index holding every person", {**disk, **every}))):
            result = await timed_start(broker.bootstrap, pg.url, run_env,
                                       data / f"start-{n}.log", topics, people + n, n,
                                       timeout, settle)
            print(f"  {name}: {result}", flush=True)
            results.append((name, result))
        return results
    finally:
        pg.stop()
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds a start may take before it counts as never")
    parser.add_argument("--settle", type=float, default=30,
                        help="seconds after a start decides again before its RSS is read again")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (logs)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-recovery-bench-") as tmp:
        data = args.keep or Path(tmp)
        os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
        results = asyncio.run(run(args.people, data, args.timeout, args.settle))
    print(f"restarted sequencer worker holding {args.people:,} person aggregates, "
          f"{os.cpu_count()} cores, broker on the same cores")
    raw = results.pop(0)[1]["records_per_s"]
    print(f"yardstick, same run: raw aiokafka reads the changelog at {raw:,.0f} records/s")
    for name, r in results:
        seconds = "never" if r["seconds"] is None else f"{r['seconds']:.1f} s"
        print(f"{name:<52} decides again after {seconds:>8}  RSS {r['rss_mb']:>6,.0f} MB, "
              f"{r['settled_rss_mb']:>6,.0f} MB {args.settle:.0f} s later  "
              f"stored person declined: {'yes' if r['stored_declined'] else 'NO'}")


if __name__ == "__main__":
    main()
