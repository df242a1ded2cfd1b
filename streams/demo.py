"""`outreach-hub demo`: the whole pipeline on the embedded pair, with a readable summary."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from datetime import UTC, datetime

import asyncpg
import orjson

from streams import sample
from streams.admin import produce
from streams.contracts.models import CampaignCommand
from streams.contracts.topics import load_catalog
from streams.embedded import mask_url
from streams.kernel.kafka_security import KafkaSecurity, client_kwargs
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import embedded_pair, prepare

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
    "sequences": "SELECT status, current_touch_index, count(*) FROM outreach.sequences "
    "GROUP BY 1, 2 ORDER BY 1, 2",
    "touches": "SELECT touch_index, count(*), min(scheduled_at), max(scheduled_at) "
    "FROM outreach.send_log GROUP BY 1 ORDER BY 1",
    "sends": "SELECT status, coalesce(provider, '-'), count(*) FROM outreach.send_log "
    "GROUP BY 1, 2 ORDER BY 1, 2",
    "engagement": "SELECT type, count(*) FROM outreach.engagement_events GROUP BY 1 ORDER BY 1",
    "rate": """
        SELECT s.seq, s.sends, coalesce(e.engaged, 0) FROM
          (SELECT split_part(aggregate_id, '-', 1) AS seq,
                  count(*) FILTER (WHERE status = 'sent'
                                   AND provider IS DISTINCT FROM 'task-queue') AS sends
             FROM outreach.send_log GROUP BY 1) s
        LEFT JOIN
          (SELECT split_part(aggregate_id, '-', 1) AS seq, count(*) AS engaged
             FROM outreach.engagement_events WHERE type IN ('opened', 'replied') GROUP BY 1) e
        USING (seq) ORDER BY 1""",
    "suppressed": "SELECT reason, count(*) FROM outreach.suppression_list GROUP BY 1 ORDER BY 1",
    "campaigns": "SELECT coalesce(tier, '-'), state, coalesce(approved_by, '-'), count(*), "
    "sum(audience) FROM outreach.campaigns GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
}
DRAFTS = "SELECT campaign_id, draft_version FROM outreach.campaigns WHERE state = 'draft'"


async def _drafts(url: str) -> list[tuple[str, int]]:
    conn = await asyncpg.connect(url)
    try:
        return [(r[0], r[1]) for r in await conn.fetch(DRAFTS)]
    finally:
        await conn.close()


def _approvals(drafts: list[tuple[str, int]]) -> list[tuple[bytes, bytes]]:
    """What an operator's approval puts on the commands topic (the CLI does it over HTTP)."""
    now = datetime.now(UTC)
    return [(cid.encode(), orjson.dumps(CampaignCommand(
        command_id=f"demo-approve:{cid}:{version}", command="approve", campaign_id=cid,
        actor="operator:demo", issued_at=now, draft_version=version,
        reason="approved by the demo's operator").model_dump(mode="json")))
        for cid, version in drafts]


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


async def _count_signals(
    bootstrap: str, topic: str, security: KafkaSecurity
) -> list[tuple[object, ...]]:
    from collections import Counter

    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                **client_kwargs(security))
    await consumer.start()
    counts: Counter[str] = Counter()
    try:
        batch = await consumer.getmany(timeout_ms=3000, max_records=100_000)
        for records in batch.values():
            for record in records:
                counts[orjson.loads(record.value)["signal"]] += 1
    finally:
        await consumer.stop()
    return sorted(counts.items())


async def _fresh_database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.replace("/outreach?", f"/{name}?", 1)


# Hub time runs this many times faster than wall time: two weeks of sequences in ~20 s.
DEMO_CLOCK_SPEED = 60_000.0

PROGRESS_SQL = """
SELECT (SELECT count(*) FROM outreach.audit_log) AS audits,
       (SELECT count(DISTINCT lead_id) FROM outreach.gate_verdicts) AS gated,
       (SELECT count(*) FROM (SELECT DISTINCT ON (lead_id, batch_id) verdict
          FROM outreach.gate_verdicts ORDER BY lead_id, batch_id, occurred_at DESC) v
        WHERE verdict = 'ALLOW') AS allowed,
       (SELECT count(*) FROM outreach.sequences) AS sequences,
       (SELECT count(*) FROM outreach.sequences WHERE status = 'active') AS active,
       (SELECT count(*) FROM outreach.send_log) AS touches
"""


async def _progress(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(PROGRESS_SQL)
    finally:
        await conn.close()
    return {k: int(v) for k, v in dict(row).items()}


def _publish(
    bootstrap: str, topic: str, docs: list[tuple[bytes, bytes]], security: KafkaSecurity
) -> None:
    asyncio.run(produce(bootstrap, topic, docs, security=security))


def run_demo(settings: Settings, cards: int, companies: int, timeout: float) -> int:
    wall = time.monotonic()
    topics = load_catalog(partitions_override=settings.topic_partitions)
    batch = sample.lead_batch(f"sxp_demo_{datetime.now(UTC):%Y%m%d_%H%M%S}", cards, companies)
    scores = [(s["company_sov_id"].encode(), orjson.dumps(s)) for s in sample.bit_scores(companies)]
    late, early = scores[-1:], scores[:-1]  # one company's score arrives after its leads
    forwarded = sum(1 for r in batch["records"] if r["enrichment_status"] == "ENRICHED")
    print(f"Outreach Execution Hub demo: {cards} lead cards across {companies} companies; "
          f"hub clock x{DEMO_CLOCK_SPEED:,.0f} (one wall second = "
          f"{DEMO_CLOCK_SPEED / 3600:.1f} hub hours), send window 09-17 Mon-Fri local time")
    desk_code = secrets.token_urlsafe(18)
    with embedded_pair(settings) as (bootstrap, server_url):
        url = asyncio.run(_fresh_database(server_url, "demo"))
        print(f"  kafka bootstrap {bootstrap}, database {mask_url(url)}")
        asyncio.run(prepare(settings, bootstrap, url))
        worker = WorkerProcess.start(bootstrap, url, settings.data_dir / "demo-worker.log", {
            "OUTREACH_APP_ID": f"outreach-demo-{os.getpid()}",
            "OUTREACH_CLOCK_SPEED": str(DEMO_CLOCK_SPEED),
            "OUTREACH_CLOCK_ANCHOR": str(time.time()),
            # 5 wall seconds of waiting for a late score, in hub seconds.
            "OUTREACH_GATE_MAX_WAIT_SECONDS": str(5 * DEMO_CLOCK_SPEED),
            "OUTREACH_GATE_EXPIRY_CHECK_SECONDS": "1",
            "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
            # The approval policy approves BURNING drafts at once; HOT ones wait for an
            # operator, which the demo plays once they are drafts.
            "OUTREACH_AUTO_APPROVE_TIERS": "BURNING",
            "OUTREACH_CAMPAIGN_CHECK_SECONDS": "1",
            "OUTREACH_DESK_ONE_TIME_CODES": f"demo:{_digest(desk_code)}",
        })
        try:
            print("  waiting for the worker to join its consumer group...", flush=True)
            print(f"  worker joined its group in {worker.wait_ready(120):.1f}s")
            print(f"  review desk: {desk_url(worker.web_port, desk_code)} (a one-time login "
                  "as operator demo, while the demo runs)", flush=True)
            _publish(bootstrap, topics["bit_scores"].name, early, settings.kafka)
            _publish(bootstrap, topics["lead_batches"].name, [
                (b"broken-1", b'{"batch_id": "broken-1", "records": [ not json'),
                (batch["batch_id"].encode(), orjson.dumps(batch)),
                (b"sxp_v9", orjson.dumps({**batch, "batch_id": "sxp_v9", "schema_version": "v9"})),
            ], settings.kafka)
            print(f"  published {len(early)} BIT scores, 1 good batch, 1 malformed message, "
                  "1 batch of an unknown schema_version")
            sent_late, last = False, dict[str, int]()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                p = asyncio.run(_progress(url))
                if p != last:
                    print(f"  progress: audit rows {p['audits']}/3, leads gated "
                          f"{p['gated']}/{forwarded}, sequences {p['sequences']} "
                          f"({p['active']} active), touches requested {p['touches']}", flush=True)
                    last = p
                drafts = asyncio.run(_drafts(url))
                if drafts and p["gated"] >= forwarded:
                    print(f"  {len(drafts)} campaign(s) wait in draft for approval; "
                          "approving them as operator:demo", flush=True)
                    _publish(bootstrap, topics["campaign_commands"].name, _approvals(drafts),
                             settings.kafka)
                if not sent_late and p["audits"] >= 1:
                    _publish(bootstrap, topics["bit_scores"].name, late, settings.kafka)
                    sent_late = True
                if (p["audits"] >= 3 and p["gated"] >= forwarded and p["sequences"] > 0
                        and p["sequences"] >= p["allowed"] and p["active"] == 0
                        and not drafts):
                    break
                time.sleep(0.5)
            else:
                print(f"  timed out after {timeout}s; worker log: {worker.log_path}")
                return 1
            summary = asyncio.run(_summary(url))
            summary["signals"] = asyncio.run(_count_signals(
                bootstrap, topics["cl_signals"].name, settings.kafka))
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
    print("Sequences (sequences):")
    for status, index, n in summary["sequences"]:
        print(f"  {status:10} after touch {index}: {n:5}")
    print("Touches requested from the sender (send_log), hub time:")
    for index, n, first, last in summary["touches"]:
        print(f"  touch {index}: {n:4}   {first:%a %b %d %H:%M} .. {last:%a %b %d %H:%M} UTC")
    print("Sends (send_log) by status and provider:")
    for status, provider, n in summary["sends"]:
        print(f"  {status:10} {provider:18} {n:5}")
    print("Engagement from the sandbox provider's webhooks (engagement_events):")
    for kind, n in summary["engagement"]:
        print(f"  {kind:15} {n:5}")
    print("ENGAGEMENT_RATE = (opens + replies) / sends, healthy >= 30%:")
    for sequence, sent, engaged in summary["rate"]:
        rate = int(engaged) / int(sent) if sent else 0.0  # type: ignore[call-overload]
        mark = "healthy" if rate >= 0.30 else "BELOW 30%"
        print(f"  {sequence:20} {engaged:4} / {sent:4} = {rate:6.1%}  {mark}")
    print("Suppression list (by address hash):")
    for reason, n in summary["suppressed"]:
        print(f"  {reason:15} {n:5}")
    print("CL engagement signals (cl.engagement.signals):")
    for signal, n in summary.get("signals", []):
        print(f"  {signal:15} {n:5}")
    print("Campaigns (campaigns) by tier, state and approver:")
    for tier, state, approver, n, audience in summary["campaigns"]:
        print(f"  {tier:8} {state:10} {approver:27} {n:4} campaigns, {audience or 0:4} persons")
    print(f"\nDemo finished in {wall:.1f}s (worker exit code {code}).")


def desk_url(port: int, code: str) -> str:
    """The review desk's one-time login: the code's digest is what the worker was given."""
    return f"http://127.0.0.1:{port}/desk/login/once?code={code}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
