"""The floor under any Faust stage on this machine: what a Faust worker does per record with
no decision at all, beside raw aiokafka on the same broker in the same run.

    .venv/bin/python bench/faust_floor.py [--records 30000] [--linger-ms 0] [--delivery-ab 3]

Each variant is a one-agent Faust app in its own worker process, reading in batches of 500 as
the hub's stages do, waiting once per batch for its sends' acks, then writing its table:

- read only: what consuming one topic costs, nothing else;
- 1 in, 2 out, 1 table write, per record: the shape of a stage fed one record per item
  (the engagement stage: one webhook event per record);
- the same with 100 items per input record: the shape of the sequencer, whose due-touch
  nudges carry up to 200 persons each.

A goal stated as "x% of the raw produce rate" is reachable only where the floor is above x.

`--delivery-ab N` then runs the first two variants N times more, interleaved, with Faust's
delivery and with the hub's (streams/kernel/delivery.py's queues, streams/kernel/drain.py's
drain), each in a fresh worker on the same broker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import raw_produce_rate

from streams.admin import create_topics, produce
from streams.contracts.topics import TopicSpec
from streams.embedded import EmbeddedBroker
from streams.kernel.kafka_security import PLAINTEXT

APP = '''
import asyncio, os, faust
from streams.kernel.changelog import with_event  # the kernel's table write outside the iteration

app = faust.App(os.environ["FLOOR_ID"], broker="kafka://" + os.environ["FLOOR_BOOTSTRAP"],
                store="memory://", web_enabled=False, topic_replication_factor=1,
                topic_partitions=4, broker_rebalance_timeout=3.0, broker_session_timeout=6.0,
                broker_heartbeat_interval=1.0, consumer_auto_offset_reset="earliest",
                producer_linger_ms=int(os.environ["FLOOR_LINGER"]), topic_disable_leader=False)
if os.environ["FLOOR_HUB_DELIVERY"] == "1":  # the hub's queues and drain, nothing else of it
    from streams.kernel import drain
    from streams.kernel.delivery import HoldingTopic
    drain.install()
    source = HoldingTopic(app, topics=[os.environ["FLOOR_INPUT"]], key_serializer="raw",
                          value_serializer="raw", internal=False)
else:
    source = app.topic(os.environ["FLOOR_INPUT"], key_serializer="raw",
                       value_serializer="raw", internal=False)
done = app.topic("floor.done", key_serializer="raw", value_serializer="raw", internal=False)
table = app.Table("floor-state", partitions=4)
SENDS, FAN = int(os.environ["FLOOR_SENDS"]), int(os.environ["FLOOR_FAN"])
TABLE = os.environ["FLOOR_TABLE"] == "1"

@app.agent(source)
async def floor(stream):
    async for events in stream.take_events(500, within=0.02):
        acks = []
        for event in events:
            for item in range(FAN):
                key = event.key + str(item).encode()  # one key per item, as one per person
                for _ in range(SENDS):
                    acks.append(await app.producer.send("floor.out", key, event.value,
                                                        None, None, None))
        await asyncio.gather(*acks)
        await done.send(key=None, value=str(len(events) * FAN).encode())
        for event in events if TABLE else ():
            with_event(event)
            for item in range(FAN):
                table[event.key.decode() + str(item)] = event.value.decode()

if __name__ == "__main__":
    app.main()
'''


class Variant(NamedTuple):
    name: str
    sends: int
    table: bool
    fan: int


VARIANTS = (
    Variant("read only", 0, False, 1),
    Variant("1 in, 2 out, 1 table write, per record", 2, True, 1),
    Variant("1 in, 2 out, 1 table write, 100 per record", 2, True, 100),
)


async def count_done(bootstrap: str, expected: int, timeout: float, after: float = 0.0,
                     worker: subprocess.Popen[bytes] | None = None, log: Path | None = None,
                     ) -> tuple[int, float, float, int]:
    """Sum the per-batch counts on floor.done; first/last are broker timestamps after `after`.
    The first batch's count is returned apart: its time is not inside [first, last]. Stops
    with the worker's last log line when the worker has exited (a broken floor app would
    otherwise hold the bench for `timeout` per variant)."""
    consumer = AIOKafkaConsumer("floor.done", bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    seen, first, last, head = 0, float("inf"), after, 0
    deadline = time.monotonic() + timeout
    try:
        while seen < expected and time.monotonic() < deadline:
            if worker is not None and worker.poll() is not None:
                lines = log.read_text(errors="replace").splitlines() if log else []
                raise SystemExit(f"faust_floor: the floor's worker exited ({worker.returncode})"
                                 f": {lines[-1] if lines else 'no output'}")
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    seen += int(r.value)
                    if r.timestamp / 1000 > after:
                        if r.timestamp / 1000 < first:
                            head = int(r.value)
                        first = min(first, r.timestamp / 1000)
                    last = max(last, r.timestamp / 1000)
    finally:
        await consumer.stop()
    return seen, first, last, head


async def floor_rate(bootstrap: str, data: Path, n: int, v: Variant, records: int,
                     linger_ms: int, hub_delivery: bool = False) -> float:
    app = data / "floor_app.py"
    app.write_text(APP)
    env = {**os.environ, "FLOOR_ID": f"floor-{n}", "FLOOR_BOOTSTRAP": bootstrap,
           "FLOOR_SENDS": str(v.sends), "FLOOR_FAN": str(v.fan),
           "FLOOR_TABLE": "1" if v.table else "0", "FLOOR_LINGER": str(linger_ms),
           "FLOOR_INPUT": f"floor.in.{n}",  # each variant reads only its own records
           "FLOOR_HUB_DELIVERY": "1" if hub_delivery else "0"}
    log = data / f"floor-{n}.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, str(app), "worker", "-l", "warn",
                                   "--without-web"], env=env, cwd=data,
                                  stdout=subprocess.DEVNULL, stderr=out)
    # At 100 items a record, 20,000 items are 200 records: one batch, no time to divide by
    # (e2e.py's default gave `nan`). A fanned variant measured (20,000 items or more; CI's
    # smoke run of 2,000 stays small) gets 4 batches of 500 records at least.
    if v.fan > 1 and records >= 20_000:
        records = max(records, v.fan * 2000)
    try:
        before = await count_done(bootstrap, 10**12, timeout=2)
        payload = b'{"contact_key":"%032d","touch_index":2,"subject":"Touch 2"}'
        await produce(bootstrap, f"floor.in.{n}",
                      [(b"%032d" % i, payload % i) for i in range(records // v.fan)],
                      security=PLAINTEXT)
        seen, first, last, head = await count_done(bootstrap, before[0] + records,
                                                   timeout=600, after=before[2],
                                                   worker=worker, log=log)
        # Batches of 500 records are 50,000 items at 100 per record: counting the first batch
        # over the time after it inflated the rate by up to the number of batches.
        if seen - before[0] - head <= 0:  # one batch: no time to divide by
            return float("nan")
        return (seen - before[0] - head) / max(last - first, 1e-9)
    finally:
        worker.terminate()
        worker.wait(30)


async def create_floor_topics(bootstrap: str, inputs: int = len(VARIANTS)) -> None:
    spec = {"key": "k", "value": "v", "replication_factor": 1, "cleanup_policy": "delete",
            "retention_ms": 3600000, "producers": (), "consumers": ()}
    await create_topics(bootstrap, [
        *(TopicSpec(alias=f"i{n}", name=f"floor.in.{n}", partitions=4, **spec)
          for n in range(inputs)),
        TopicSpec(alias="o", name="floor.out", partitions=4, **spec),
        TopicSpec(alias="d", name="floor.done", partitions=1, **spec)], security=PLAINTEXT)


SEQUENCER_SHAPE = len(VARIANTS) - 1  # 100 items per record, 2 sends + 1 table write each


async def sequencer_shape_floor(bootstrap: str, data: Path, records: int = 30000,
                                linger_ms: int = 0) -> float:
    """The floor of the sequencer's shape on a running broker (bench/sequencer_bench.py states
    its due-touch rate against it, measured in the same run)."""
    await create_floor_topics(bootstrap)
    return await floor_rate(bootstrap, data, SEQUENCER_SHAPE, VARIANTS[SEQUENCER_SHAPE],
                            records, linger_ms)


async def run(records: int, linger_ms: int, data: Path, rounds: int
              ) -> tuple[float, list[float], list[tuple[int, str, bool, float]]]:
    broker = EmbeddedBroker(log_path=data / "tansu.log").start()
    try:
        raw = await raw_produce_rate(broker.bootstrap, "bench.raw-aiokafka")
        ab = [(r, v, hub) for r in range(rounds) for hub in (False, True) for v in VARIANTS[:2]]
        await create_floor_topics(broker.bootstrap, len(VARIANTS) + len(ab))
        rates = [await floor_rate(broker.bootstrap, data, n, v, records, linger_ms)
                 for n, v in enumerate(VARIANTS)]
        pairs = []
        for n, (r, v, hub) in enumerate(ab, start=len(VARIANTS)):
            rate = await floor_rate(broker.bootstrap, data, n, v, records, linger_ms, hub)
            pairs.append((r, v.name, hub, rate))
        return raw, rates, pairs
    finally:
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=30000)
    parser.add_argument("--linger-ms", type=int, default=0)
    parser.add_argument("--delivery-ab", type=int, default=0, metavar="ROUNDS",
                        help="rounds of Faust's delivery against the hub's (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-floor-") as tmp:
        raw, rates, pairs = asyncio.run(run(args.records, args.linger_ms, Path(tmp),
                                            args.delivery_ab))
    print(f"raw aiokafka produce (100k msgs, same broker): {raw:>10,.0f} msg/s")
    for v, rate in zip(VARIANTS, rates, strict=True):
        print(f"Faust floor, {v.name:<44} {rate:>8,.0f} items/s ({rate / raw:.1%} of raw)")
    print(f"(Faust producer linger {args.linger_ms} ms)")
    for r, name, hub, rate in pairs:
        who = "the hub's delivery" if hub else "Faust's delivery  "
        print(f"round {r + 1}, {who}, {name:<44} {rate:>8,.0f} items/s ({rate / raw:.1%} of raw)")


if __name__ == "__main__":
    main()
