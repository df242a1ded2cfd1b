"""A stopping worker commits the records its agents finished and none they were still working
on, and does not wait for the latter (streams/shutdown.py). Faust's own choice is between
waiting without bound (stream_wait_empty=True) and committing unfinished records (False)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.schemas import SOURCE_ROOT as PROJECT_ROOT

pytestmark = pytest.mark.integration

APP = textwrap.dedent("""
    import asyncio, os, sys
    import faust
    from streams.shutdown import drain_then_stop_committing

    app = faust.App(os.environ["APP_ID"], broker="kafka://" + os.environ["BOOTSTRAP"],
                    store="memory://", web_enabled=False, consumer_auto_offset_reset="earliest",
                    broker_rebalance_timeout=3, broker_session_timeout=6,
                    broker_heartbeat_interval=1, topic_disable_leader=True)
    drain_then_stop_committing(app)

    @app.agent(app.topic(os.environ["TOPIC"], value_serializer="raw", internal=False))
    async def work(stream):
        async for events in stream.take_events(100, within=0.2):  # the sink's shape
            print("WORKING", len(events), flush=True)
            await asyncio.sleep(float(os.environ["WORK_S"]))
            print("FINISHED", flush=True)

    app.main()
""")


async def _committed(bootstrap: str, group: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, 0))
    finally:
        await consumer.stop()


@pytest.mark.parametrize(("work_s", "committed"), [(60.0, None), (0.5, 10)])
async def test_sigterm_mid_batch(
    work_s: float, committed: int | None, kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic, group = f"stop-{uuid.uuid4().hex[:8]}", f"stop-app-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(10):
            await producer.send_and_wait(topic, b"record-%d" % n)
    finally:
        await producer.stop()

    script = tmp_path / "app.py"
    script.write_text(APP)
    env = {**os.environ, "BOOTSTRAP": kafka_bootstrap, "APP_ID": group, "TOPIC": topic,
           "WORK_S": str(work_s), "PYTHONPATH": str(PROJECT_ROOT)}
    # In tmp_path: Faust keeps its data directory (<app id>-data) in the working directory.
    proc = subprocess.Popen([sys.executable, str(script), "worker", "-l", "info"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any("WORKING" in line for line in lines[-1:]):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, out[-3000:]
    assert took < 8, out[-3000:]
    # The batch in progress: committed only when it finished before the drain gave up on it.
    assert await _committed(kafka_bootstrap, group, topic) == committed, out[-3000:]
