"""The figures of bench/e2e.py from what the watcher saw, and the reconciliation."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import orjson
from e2e_load import lead_id
from e2e_watch import Seen, percentiles

HOPS = ("publish → verdict", "verdict → enrollment", "enrollment → first touch",
        "publish → first touch")


@dataclass
class Span:
    """Leads first..end-1 of one phase, published from t0 on."""

    first: int
    end: int
    t0: float


def hop_latencies(seen: Seen, publish_ts: Any, span: Span) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {h: [] for h in HOPS}
    for n in range(span.first, span.end):
        lead, sent = lead_id(n), publish_ts[n]
        verdict = seen.verdict_ts.get(lead)
        if verdict is None or lead in seen.unscored:
            continue
        out[HOPS[0]].append(verdict - sent)
        enrolled = seen.enroll_ts.get(lead)
        if enrolled is None:
            continue
        out[HOPS[1]].append(enrolled - verdict)
        touched = seen.touch1_ts.get(seen.contact_of[lead])
        if touched is not None and touched >= enrolled:  # not a person touched as another lead
            out[HOPS[2]].append(touched - enrolled)
            out[HOPS[3]].append(touched - sent)
    return out


def hop_rates(seen: Seen, span: Span) -> dict[str, tuple[int, float]]:
    """Per hop: how many of the span's leads reached it, and the span's leads per second from
    the first publish to the last of them reaching it (the pipeline's throughput)."""
    leads = [lead_id(n) for n in range(span.first, span.end)]
    leads = [lead for lead in leads if lead not in seen.unscored]
    total = len(leads)

    def rate(stamps: list[float]) -> tuple[int, float]:
        return len(stamps), total / max((max(stamps) - span.t0) if stamps else 0.0, 1e-9)

    verdicts = [seen.verdict_ts[lead] for lead in leads if lead in seen.verdict_ts]
    enrolled = [seen.enroll_ts[lead] for lead in leads if lead in seen.enroll_ts]
    contacts = {seen.contact_of[lead] for lead in leads if lead in seen.contact_of}
    touched = [seen.touch1_ts[c] for c in contacts if c in seen.touch1_ts]
    return {"gate verdict": rate(verdicts), "enrollment": rate(enrolled),
            "first touch requested": rate(touched)}


def print_latencies(title: str, lat: dict[str, list[float]]) -> None:
    print(f"  latency at {title}:")
    for hop, values in lat.items():
        p50, p95, p99 = percentiles(values)
        print(f"    {hop:<26} p50 {p50 * 1000:>8,.0f} ms  p95 {p95 * 1000:>8,.0f} ms  "
              f"p99 {p99 * 1000:>8,.0f} ms  (n={len(values):,})")


async def reconcile_cli(bootstrap: str, url: str, partitions: int, tries: int = 6
                        ) -> dict[str, Any]:
    """`outreach-hub reconcile --json`, again a few times while the sender finishes."""
    env = {**os.environ, "OUTREACH_KAFKA_BOOTSTRAP": bootstrap, "OUTREACH_DATABASE_URL": url,
           "OUTREACH_TOPIC_PARTITIONS": str(partitions)}
    result: dict[str, Any] = {}
    for _ in range(tries):
        proc = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "streams.cli", "reconcile", "--json"],
            env=env, capture_output=True)
        try:
            result = orjson.loads(proc.stdout)
        except orjson.JSONDecodeError:
            result = {"ok": False, "error": proc.stderr.decode()[-300:]}
        if result.get("ok"):
            break
        await asyncio.sleep(5)
    return result


def ledger(seen: Seen, published: int, republished: int, cli: dict[str, Any]
           ) -> tuple[bool, list[str]]:
    """Every lead accounted for: the CLI's per-batch count (verdict, dead letter, waiting for
    enrichment) and touches (requested = sent + failed, none twice), and the watcher's: every
    ALLOW enrolled or held by a reason, every enrolled person asked a first touch."""
    totals = cli.get("totals", {})
    allow = seen.verdicts.get("ALLOW", 0)
    held = sum(seen.allow_held.values())
    enrolled_allow = allow - held
    enrolled_leads = len(seen.enroll_ts)
    persons = set(seen.contact_of.values())
    untouched = sum(1 for c in persons if c not in seen.touch1_ts)
    ok = (bool(cli.get("ok")) and totals.get("published") == published
          and enrolled_leads == enrolled_allow and untouched == 0)
    batches = cli.get("batches", {}).values()
    parts = {k: sum(b.get(k, 0) for b in batches) for k in ("verdict", "dead_letter", "waiting")}
    verdicts = ", ".join(f"{k} {v:,}" for k, v in sorted(seen.verdicts.items()))
    lines = [
        f"  leads published {published:,} (+{republished} batches published twice); the CLI "
        f"counts {totals.get('published', 0):,} published, {totals.get('accounted', 0):,} "
        f"accounted ({parts['verdict']:,} with a verdict, {parts['dead_letter']:,} dead-lettered, "
        f"{parts['waiting']:,} waiting for enrichment), {totals.get('lost', '?')} lost",
        f"  verdicts: {verdicts}",
        f"  ALLOW {allow:,} = enrolled {enrolled_leads:,} + held {held:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in seen.allow_held.items()) or 'none'})",
        f"  persons enrolled {len(persons):,} (leads naming one person once: "
        f"{enrolled_leads - len(persons):,} duplicates), first touch requested "
        f"{len(persons) - untouched:,}, missing {untouched:,}",
        f"  touches requested {totals.get('requested', 0):,} = sent {totals.get('sent', 0):,} "
        f"+ failed {totals.get('failed', 0):,}; unresolved {totals.get('unresolved', '?')}, "
        f"sent twice {totals.get('twice', '?')}",
    ]
    if "error" in cli:
        lines.append(f"  reconcile failed: {cli['error']}")
    return ok, lines
