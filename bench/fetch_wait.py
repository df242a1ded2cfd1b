"""How long a record waits for a consumer's fetch on the embedded broker, per fetch_max_wait_ms.

    .venv/bin/python bench/fetch_wait.py [--waits 1500,500,100,20] [--records 40]

Raw aiokafka, no Faust: one record every 100 ms to an idle 4-partition topic, timed from its
send to the consumer's getmany. A broker that answers a waiting fetch at the first record
(Kafka) shows a few ms whatever the wait; one that answers only when the wait ends (Tansu)
shows up to the wait. Faust's worker consumer asks for 1,500 ms; the hub for
OUTREACH_FETCH_MAX_WAIT_MS (streams/kernel/fetch_wait.py).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from streams.embedded import EmbeddedBroker

TOPIC = "bench.fetch-wait"


async def one(bootstrap: str, wait_ms: int, records: int, gap: float) -> list[float]:
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, fetch_max_wait_ms=wait_ms,
                                auto_offset_reset="latest", group_id=None)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await consumer.start()
    await producer.start()
    waits: list[float] = []
    try:
        await asyncio.sleep(2)  # the consumer's first fetches are in flight: the topic is idle

        async def read() -> None:
            while len(waits) < records:
                batch = await consumer.getmany(timeout_ms=2000)
                now = time.time()
                waits.extend(now - float(m.value or b"0") for ms in batch.values() for m in ms)

        reader = asyncio.create_task(read())
        for n in range(records):
            await producer.send_and_wait(TOPIC, str(time.time()).encode(), partition=n % 4)
            await asyncio.sleep(gap)
        await asyncio.wait_for(reader, 30)
    finally:
        await producer.stop()
        await consumer.stop()
    return sorted(waits)


async def main(args: argparse.Namespace) -> None:
    data = Path(tempfile.mkdtemp(prefix="outreach-fetch-wait-"))
    broker = EmbeddedBroker(log_path=data / "tansu.log").start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(TOPIC, 4, 1)])
        await admin.close()
        for wait in (int(w) for w in args.waits.split(",")):
            w = await one(broker.bootstrap, wait, args.records, 0.1)
            p50, p99 = w[len(w) // 2], w[max(0, int(len(w) * 0.99) - 1)]
            print(f"fetch_max_wait_ms {wait:>5}: send → getmany p50 {p50 * 1000:,.0f} ms, "
                  f"p99 {p99 * 1000:,.0f} ms, max {w[-1] * 1000:,.0f} ms ({len(w)} records)")
    finally:
        broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", default="1500,500,100,20")
    parser.add_argument("--records", type=int, default=40)
    asyncio.run(main(parser.parse_args()))
