"""PostgreSQL sink benchmark (issue 14): rows/s of the sink's own write path, without Kafka.

    .venv/bin/python bench/sink_bench.py [--rows 200000] [--batch 5000]

Writes --rows gate verdicts, --rows send rows (a touch requested: a new row in status
scheduled) and the same sends' reports (sent: an update of each row) through
`PostgresSink.write` in batches of --batch events, on the embedded PostgreSQL; then the same
batches again, which must write nothing. The events are built before the clock starts: the rate
is the sink's (mapping to rows, the round trips, PostgreSQL's work). Goal: >= 50,000 rows/s for
verdicts and send rows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streams.contracts.models import HubEvent, LeadGated, SendRecorded, TouchRequested
from streams.embedded import EmbeddedPostgres
from streams.sink import PostgresSink, migrate

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)
PID = "outreach-execution-campaign-20261125-0a1b2c3d"


def verdict(n: int) -> LeadGated:
    return LeadGated(
        event_id=f"gate:lead-{n}:bit-{n % 997}", occurred_at=T0, correlation_id=f"bit-{n % 997}",
        process_id=PID, lead_id=f"lead-{n}", batch_id=f"batch-{n // 1000}",
        company_sov_id=f"cmp_{n % 997:04d}", bit_score=float(n % 100),
        score_evaluated_at=T0 - timedelta(minutes=5),
        verdict="CONTENT_ONLY" if n % 3 else "ALLOW",
        tier="WARM" if n % 3 else "HOT",
        strategy="NEWSLETTER_CONTENT" if n % 3 else "PERSONALIZED_EMAIL",
        reasons=("bit_below_threshold",) if n % 3 else (), error_code="OUT-001" if n % 3 else None)


def _aggregate(n: int) -> str:
    return f"seq-bench:ck_{n:012x}"


def touch(n: int) -> TouchRequested:
    agg = _aggregate(n)
    return TouchRequested(
        event_id=f"touch:{agg}:1", occurred_at=T0, correlation_id=f"bit-{n % 997}",
        process_id=PID, aggregate_id=agg, sequence_id="bench-email", campaign_id="cmp-bench",
        company_sov_id=f"cmp_{n % 997:04d}", contact_key=f"ck_{n:012x}", touch_index=1,
        channel="email", subject="Touch 1", content_digest="sha256:" + "ab" * 32,
        due_at=T0, idempotency_key=f"{agg}:1")


def report(n: int) -> SendRecorded:
    agg = _aggregate(n)
    return SendRecorded(
        event_id=f"send:{agg}:1:sent", occurred_at=T0 + timedelta(seconds=30),
        correlation_id=f"bit-{n % 997}", process_id=PID, aggregate_id=agg,
        contact_key=f"ck_{n:012x}", campaign_id="cmp-bench", touch_index=1,
        idempotency_key=f"{agg}:1", status="sent", provider="sandbox",
        provider_message_id=f"sb-{n:012x}")


def batches(events: Sequence[HubEvent], size: int) -> list[Sequence[HubEvent]]:
    return [events[i:i + size] for i in range(0, len(events), size)]


async def timed(sink: PostgresSink, parts: list[Sequence[HubEvent]]) -> tuple[int, float]:
    started, written = time.perf_counter(), 0
    for part in parts:
        written += await sink.write(part)
    return written, time.perf_counter() - started


async def run(rows: int, size: int, data: Path) -> list[tuple[str, int, int, float]]:
    pg = EmbeddedPostgres(data / "pg").start()
    try:
        sink = await PostgresSink.connect(pg.url)
        try:
            await migrate(sink.pool)
            phases = {
                "gate verdicts (insert)": batches([verdict(n) for n in range(rows)], size),
                "send rows (touch requested: insert)": batches([touch(n) for n in range(rows)],
                                                               size),
                "send rows (sent report: update)": batches([report(n) for n in range(rows)],
                                                           size),
            }
            results = []
            for name, parts in phases.items():
                written, seconds = await timed(sink, parts)
                results.append((name, rows, written, seconds))
            for name, parts in phases.items():
                written, seconds = await timed(sink, parts)
                results.append((f"replay: {name}", rows, written, seconds))
            return results
        finally:
            await sink.close()
    finally:
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000,
                        help="events per write (OUTREACH_SINK_BATCH_SIZE of a worker)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="outreach-sink-bench-") as tmp:
        os.environ.setdefault("XDG_RUNTIME_DIR", tmp)
        results = asyncio.run(run(args.rows, args.batch, Path(tmp)))
    print(f"PostgreSQL sink alone, embedded PostgreSQL, {args.batch} events per write, "
          f"{os.cpu_count()} cores")
    failed = False
    for name, events, written, seconds in results:
        print(f"{name:<48} {events:>8,} events {written:>8,} rows written "
              f"{events / seconds:>10,.0f} events/s")
        if name.startswith("replay") and written:
            failed = True
    print("replay rows written: " + ("NOT 0" if failed else "0"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
