"""`outreach-hub demo`: the whole pipeline on the embedded pair, with a readable summary."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime

import asyncpg
import orjson

from streams import sample
from streams.admin import produce
from streams.embedded import mask_url
from streams.process import WorkerProcess
from streams.runtime import embedded_pair, prepare
from streams.settings import Settings
from streams.topics import load_catalog

SUMMARY_QUERIES = {
    "audit": "SELECT status, count(*) FROM outreach.audit_log GROUP BY 1 ORDER BY 1",
    "cards": "SELECT disposition, count(*) FROM outreach.lead_cards GROUP BY 1 ORDER BY 1",
    "verdicts": """
        SELECT verdict, coalesce(tier, '-'), count(*) FROM (
          SELECT DISTINCT ON (lead_id, batch_id) verdict, tier FROM outreach.gate_verdicts
          ORDER BY lead_id, batch_id, occurred_at DESC) latest
        GROUP BY 1, 2 ORDER BY 1, 2""",
    "errors": "SELECT code, severity, count(*) FROM outreach.outreach_errors "
    "GROUP BY 1, 2 ORDER BY 1",
}


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def _summary(url: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(url)
    try:
        return {k: [tuple(r) for r in await conn.fetch(q)] for k, q in SUMMARY_QUERIES.items()}
    finally:
        await conn.close()


async def _fresh_database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.replace("/outreach?", f"/{name}?", 1)


def run_demo(settings: Settings, cards: int, companies: int, timeout: float) -> int:
    wall = time.monotonic()
    catalog = load_catalog(partitions_override=settings.topic_partitions)
    batch = sample.lead_batch(f"sxp_demo_{datetime.now(UTC):%Y%m%d_%H%M%S}", cards, companies)
    scores = sample.bit_scores(companies)
    late, early = scores[-1:], scores[:-1]  # one company's score arrives after its leads
    forwarded = sum(1 for r in batch["records"] if r["enrichment_status"] == "ENRICHED")
    print(f"Outreach Execution Hub demo: {cards} lead cards across {companies} companies")
    with embedded_pair(settings) as (bootstrap, server_url):
        url = asyncio.run(_fresh_database(server_url, "demo"))
        print(f"  kafka bootstrap {bootstrap}, database {mask_url(url)}")
        asyncio.run(prepare(settings, bootstrap, url))
        worker = WorkerProcess.start(
            bootstrap,
            url,
            settings.data_dir / "demo-worker.log",
            {
                "OUTREACH_GATE_MAX_WAIT_SECONDS": "5",
                "OUTREACH_GATE_EXPIRY_CHECK_SECONDS": "1",
                "OUTREACH_APP_ID": f"outreach-demo-{os.getpid()}",
            },
        )
        try:
            print("  waiting for the worker to join its consumer group...", flush=True)
            joined = worker.wait_ready(120)
            print(f"  worker joined its group in {joined:.1f}s")
            t = catalog
            asyncio.run(
                produce(
                    bootstrap,
                    t["bit_scores"].name,
                    [(s["company_sov_id"].encode(), orjson.dumps(s)) for s in early],
                )
            )
            asyncio.run(
                produce(
                    bootstrap,
                    t["lead_batches"].name,
                    [
                        (b"broken-1", b'{"batch_id": "broken-1", "records": [ not json'),
                        (batch["batch_id"].encode(), orjson.dumps(batch)),
                        (
                            b"sxp_v9",
                            orjson.dumps({**batch, "batch_id": "sxp_v9", "schema_version": "v9"}),
                        ),
                    ],
                )
            )
            print(
                f"  published {len(early)} BIT scores, 1 good batch, 1 malformed message, "
                "1 batch of an unknown schema_version"
            )
            sent_late = False
            last_seen = (-1, -1)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                gated = asyncio.run(
                    _count(url, "SELECT count(DISTINCT lead_id) FROM outreach.gate_verdicts")
                )
                audits = asyncio.run(_count(url, "SELECT count(*) FROM outreach.audit_log"))
                if (audits, gated) != last_seen:
                    print(
                        f"  progress: audit rows {audits}/3, leads gated {gated}/{forwarded}",
                        flush=True,
                    )
                    last_seen = (audits, gated)
                if not sent_late and audits >= 1:
                    asyncio.run(
                        produce(
                            bootstrap,
                            t["bit_scores"].name,
                            [(s["company_sov_id"].encode(), orjson.dumps(s)) for s in late],
                        )
                    )
                    sent_late = True
                if gated >= forwarded and audits >= 3:
                    break
                time.sleep(0.5)
            else:
                print(f"  timed out after {timeout}s; worker log: {worker.log_path}")
                return 1
            summary = asyncio.run(_summary(url))
        finally:
            code = worker.stop()
    _print_summary(summary, time.monotonic() - wall, code)
    return 0


def _print_summary(summary: dict[str, list[tuple[object, ...]]], wall: float, code: int) -> None:
    print("\nHandoff audit (audit_log):")
    for status, n in summary["audit"]:
        print(f"  {status:10} {n:5}")
    print("Lead cards stored verbatim (lead_cards):")
    for disposition, n in summary["cards"]:
        print(f"  {disposition:22} {n:5}")
    print("Gate verdicts, latest per lead (gate_verdicts):")
    for verdict, tier, n in summary["verdicts"]:
        print(f"  {verdict:15} {tier:8} {n:5}")
    print("Errors and dead letters (outreach_errors):")
    for code_, severity, n in summary["errors"]:
        print(f"  {code_:20} {severity:9} {n:5}")
    print(f"\nDemo finished in {wall:.1f}s (worker exit code {code}).")
