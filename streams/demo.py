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
from streams.operator.demo_summary import print_summary
from streams.process import WorkerProcess
from streams.runtime import embedded_pair, prepare

SUMMARY_QUERIES = {
    # The batch handoff rows (the campaign verdicts in the same table are printed per campaign).
    "audit": "SELECT status, count(*) FROM outreach.audit_log WHERE batch_id IS NOT NULL "
    "GROUP BY 1 ORDER BY 1",
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
    # Each campaign's latest health verdict (its own or its sending domain's) and audit verdict.
    "verdicts_by_campaign": """
        SELECT c.campaign_id, coalesce(c.tier, '-'), c.state,
               (SELECT count(*) FROM outreach.send_log s
                 WHERE s.campaign_id = c.campaign_id AND s.status = 'sent'),
               h.verdict, coalesce(h.reasons, '{}'), a.verdict, coalesce(a.findings, '[]')
          FROM outreach.campaigns c
          LEFT JOIN LATERAL (SELECT verdict, reasons FROM outreach.campaign_health
                              WHERE campaign_id = c.campaign_id
                              ORDER BY evaluated_at DESC, recorded_at DESC LIMIT 1) h ON true
          LEFT JOIN LATERAL (SELECT verdict, findings FROM outreach.audit_log
                              WHERE campaign_id = c.campaign_id
                              ORDER BY occurred_at DESC LIMIT 1) a ON true
         ORDER BY 2, 1""",
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
# Wall seconds the summary waits, once every sequence has ended, for the campaigns' audits.
AUDIT_GRACE_S = 15.0

PROGRESS_SQL = """
SELECT (SELECT count(*) FROM outreach.audit_log WHERE batch_id IS NOT NULL) AS audits,
       (SELECT count(DISTINCT lead_id) FROM outreach.gate_verdicts) AS gated,
       (SELECT count(*) FROM (SELECT DISTINCT ON (lead_id, batch_id) verdict
          FROM outreach.gate_verdicts ORDER BY lead_id, batch_id, occurred_at DESC) v
        WHERE verdict = 'ALLOW') AS allowed,
       (SELECT count(*) FROM outreach.sequences) AS sequences,
       (SELECT count(*) FROM outreach.sequences WHERE status = 'active') AS active,
       (SELECT count(*) FROM outreach.send_log) AS touches,
       (SELECT count(*) FROM outreach.campaigns c WHERE c.state = 'active'
           AND coalesce((SELECT a.verdict FROM outreach.audit_log a
                          WHERE a.campaign_id = c.campaign_id
                          ORDER BY a.occurred_at DESC LIMIT 1), '-') <> 'INCONCLUSIVE'
       ) AS unaudited
"""
# `unaudited`: active campaigns not audited yet, or whose PASS / FAIL has not yet completed or
# failed them (an INCONCLUSIVE verdict leaves a campaign active: nothing more to wait for).


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
            # A campaign whose sequences have ended is audited within seconds, so the summary
            # carries its verdict (the auditor's settle period is wall time).
            "OUTREACH_CAMPAIGN_AUDIT_CHECK_SECONDS": "1",
            "OUTREACH_CAMPAIGN_AUDIT_SETTLE_SECONDS": "2",
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
            sent_late, last, audit_grace = False, dict[str, int](), float("inf")
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
                    if p["unaudited"] == 0 or audit_grace < time.monotonic():
                        break
                    if audit_grace == float("inf"):  # sequences ended: their audits follow
                        print("  every sequence has ended; waiting for the campaign audits",
                              flush=True)
                        audit_grace = time.monotonic() + AUDIT_GRACE_S
                time.sleep(0.5)
            else:
                print(f"  timed out after {timeout}s; worker log: {worker.log_path}")
                return 1
            summary = asyncio.run(_summary(url))
            summary["signals"] = asyncio.run(_count_signals(
                bootstrap, topics["cl_signals"].name, settings.kafka))
        finally:
            code = worker.stop()
    print_summary(summary, time.monotonic() - wall, code, settings.health.min_sends)
    return 0


def desk_url(port: int, code: str) -> str:
    """The review desk's one-time login: the code's digest is what the worker was given."""
    return f"http://127.0.0.1:{port}/desk/login/once?code={code}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
