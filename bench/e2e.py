"""End to end at scale (issue 14): N leads from lead batches to first touch requested, on the
embedded broker and PostgreSQL, the hub's workers as an operator runs them, measured from outside.

    .venv/bin/python bench/e2e.py [--leads 1000000]
        [--layout one|pools|both|sender-apart|sink-apart|split|replicas]
        [--rates 0.2,0.5,1.0] [--reply-rates 0.5] [--phase-seconds 30] [--soak-minutes 0]
        [--paced-rate 0] [--floor-records 20000]

BIT scores first, then N leads in batches of 1,000 cards flat out: the rate to each hop is
measured there. Then the publisher holds 20%, 50% and 100% of the measured rate for
--phase-seconds each (latency per hop); at 50% (or the fractions --reply-rates names) replies
of touched persons go in too (the stop latency). --soak-minutes holds 50% that long, sampling
the workers' RSS every 10 s. Layouts: `one` worker with every stage, six stage `pools`, or
`sender-apart` / `sink-apart` (every stage but the sender, or the sink, in one worker, it in
another), `split` (intake to sequencer and the sink in one worker, the send side in another), or
two `replicas` of the one worker (one consumer group, the partitions shared). Every
campaign is approved by the approval policy (OUTREACH_AUTO_APPROVE_TIERS: all tiers). Ends
with `<rate> leads/s to first touch requested` and the reconciliation; exits 1 when a lead is
not accounted for.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import count_messages, raw_produce_rate
from e2e_load import Cards, Publisher, companies_for, reply, score_records
from e2e_report import Span, hop_latencies, hop_rates, ledger, print_latencies, reconcile_cli
from e2e_watch import (
    Progress,
    Resources,
    Watcher,
    WorkerMetrics,
    batch_line,
    drain,
    histograms,
    loop_lag_line,
    partitions_behind,
    percentiles,
    pg_counts,
    settle,
    wait_consuming,
)

from streams.contracts.topics import load_catalog
from streams.embedded import EmbeddedBroker, EmbeddedPostgres
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

PARTITIONS = 4
# Once a phase's rows are in PostgreSQL, its last records are committed within this.
COMMITTED_WITHIN_S = 300.0
POOLS = ("intake,gate", "campaigns,campaign-health", "sequencer", "sender", "engagement", "sink")
WORKER_ENV = {
    "OUTREACH_APP_ID": "bench-e2e", "OUTREACH_TOPIC_PARTITIONS": str(PARTITIONS),
    "OUTREACH_LOG_LEVEL": "warn", "OUTREACH_AUTO_APPROVE_TIERS": "SUSPECT,WARM,HOT,BURNING",
    "OUTREACH_CAMPAIGN_CHECK_SECONDS": "1",
    # A person enrolled before the policy's approval reached the sequencer waits this long.
    "OUTREACH_SEQUENCER_CAMPAIGN_RECHECK_SECONDS": "1",
    "OUTREACH_GATE_MAX_WAIT_SECONDS": "5", "OUTREACH_GATE_EXPIRY_CHECK_SECONDS": "1",
    "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
    "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_CAPS_PER_MAILBOX": "1000000000",
    "OUTREACH_CAPS_PER_DOMAIN": "1000000000", "OUTREACH_SANDBOX_ENGAGEMENT": "false",
    # The bench measures the pipeline, not a campaign's execution constraint: at the default 50
    # sends an hour a company's campaign defers the first touches of its later leads by up to
    # an hour, and the paced phases never settled (each enrolled person is due a first touch).
    "OUTREACH_CAMPAIGN_MAX_SENDS_PER_HOUR": "1000000000",
    "OUTREACH_CAMPAIGN_MAX_SENDS_PER_DAY": "1000000000",
}


async def poll_rows(url: str, history: list[tuple[float, int, int, int]]) -> None:
    while True:
        history.append((time.time(), *await pg_counts(url)))
        await asyncio.sleep(0.5)


def row_rate(history: list[tuple[float, int, int, int]], col: int, target: int, span: Span,
             leads: int) -> float:
    """`leads` over the time from the span's first publish until the table held `target`."""
    reached = next((h[0] for h in history if h[col] >= target), None)
    return leads / (reached - span.t0) if reached else float("nan")


def start_workers(layout: str, bootstrap: str, url: str, data: Path) -> list[WorkerProcess]:
    every = Settings().stages
    pools = {"pools": POOLS,
             "sender-apart": (",".join(st for st in every if st != "sender"), "sender"),
             "sink-apart": (",".join(st for st in every if st != "sink"), "sink"),
             "split": ("intake,gate,campaigns,sequencer,sink", "sender,engagement,campaign-health"),
             "replicas": (",".join(every), ",".join(every)),
             }.get(layout, (",".join(every),))
    workers = [WorkerProcess.start(bootstrap, url, data / f"worker-{i}.log", {
        **WORKER_ENV, "OUTREACH_STAGES": stages, "OUTREACH_DATA_DIR": str(data / f"var-{i}")})
        for i, stages in enumerate(pools)]
    for w, stages in zip(workers, pools, strict=True):
        if stages == "sink":
            wait_consuming(w, 180)
        else:
            w.wait_ready(180)
    return workers


async def raw_rates(bootstrap: str) -> tuple[float, float]:
    produce = await raw_produce_rate(bootstrap, "bench.raw-aiokafka")
    started = time.perf_counter()
    seen, _, _ = await count_messages(bootstrap, "bench.raw-aiokafka", 100_000, timeout=120)
    return produce, seen / (time.perf_counter() - started)


async def run_layout(args: argparse.Namespace, layout: str, data: Path) -> bool:
    broker = EmbeddedBroker(log_path=data / "tansu.log").start()
    pg = EmbeddedPostgres(data / "pg").start()
    workers: list[WorkerProcess] = []
    try:
        raw_p, raw_c = await raw_rates(broker.bootstrap)
        print(f"raw aiokafka on this broker: produce {raw_p:,.0f} msg/s, consume {raw_c:,.0f} "
              "msg/s (100k small JSON records)")
        await prepare(Settings(topic_partitions=PARTITIONS), broker.bootstrap, pg.url)
        names = {s.alias: s.name for s in load_catalog(partitions_override=PARTITIONS)}
        started = time.monotonic()
        workers = start_workers(layout, broker.bootstrap, pg.url, data)
        print(f"layout {layout}: {len(workers)} worker(s) ready in "
              f"{time.monotonic() - started:.1f} s; {os.cpu_count()} cores")
        res = Resources([w.proc.pid for w in workers], web_ports=[w.web_port for w in workers])
        res.start()
        watch = Watcher(broker.bootstrap, names)
        await watch.start()
        companies = companies_for(args.leads)
        pub = Publisher(broker.bootstrap, names["lead_batches"], Cards(companies))
        await pub.start()
        ok = await measure(args, pub, watch, res, pg.url, names, companies)
        cli = await reconcile_cli(broker.bootstrap, pg.url, PARTITIONS)
        good, lines = ledger(watch.seen, pub.published, pub.republished, cli)
        print(f"reconciliation: {'every lead accounted for' if good else 'FAILED'}")
        print("\n".join(lines))
        if not good:
            print("  records not yet read, by the workers' own consumer lag: "
                  + (", ".join(partitions_behind([w.web_port for w in workers])) or "none"))
        await pub.stop()
        await watch.stop()
        await res.stop()
        return ok and good
    finally:
        codes = [w.stop() for w in workers]
        if any(codes):
            print(f"worker exit codes {codes}; logs in {data}", file=sys.stderr)
        pg.stop()
        broker.stop()


def records_taken(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float],
                  ) -> str:
    """Records each stage agent took over the phase (`outreach_stage_records_total`): a hop
    costs per record, so this is what the phase's CPU went on."""
    family = "outreach_stage_records_total"
    taken = {stage: after[(f, stage)] - before.get((f, stage), 0.0)
             for f, stage in after if f == family}
    parts = ", ".join(f"{stage} {n:,.0f}" for stage, n in sorted(taken.items(), key=lambda x: -x[1])
                      if n)
    return f"  records taken by the stages: {sum(taken.values()):,.0f} ({parts})"


async def measure(args: argparse.Namespace, pub: Publisher, watch: Watcher, res: Resources,
                  url: str, names: dict[str, str], companies: int) -> bool:
    assert pub.producer is not None
    for key, value in score_records(companies):
        await pub.producer.send(names["bit_scores"], value=value, key=key)
    await pub.producer.flush()
    await asyncio.sleep(2)  # the scores are at the gate before the first card
    progress = Progress(watch, pub, args.leads)
    history: list[tuple[float, int, int, int]] = []
    poller = asyncio.create_task(poll_rows(url, history))
    taken = WorkerMetrics(res.web_ports)
    before = await asyncio.to_thread(taken.scrape)
    res.mark()
    span = Span(0, args.leads, time.time())
    progress.phase = "flat out"
    await pub.flat_out(args.leads, tick=progress.tick)
    settled = await settle(watch, pub.expected(0, args.leads), progress, args.timeout)
    cpu, wall = res.mark()
    progress.done()
    rates = hop_rates(watch.seen, span)
    rate = rates["first touch requested"][1]
    print(f"flat out, {args.leads:,} leads in batches of 1,000 ({companies:,} companies; "
          f"{len(watch.seen.unscored):,} leads of companies whose score never came are gated "
          "when their 5 s wait expires, left out of the rates and latencies):")
    for hop, (reached, per_s) in rates.items():
        print(f"  to {hop:<22} {reached:>9,} reached  {per_s:>9,.0f} leads/s")
    seen = watch.seen
    scored = args.leads - len(seen.unscored)
    targets = (len(seen.verdict_ts) - len(seen.unscored), len(seen.touch1_ts))
    # The sink may still be writing, and the sender sending: the paced phases start after both.
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and not (
            history and history[-1][1] >= targets[0] and history[-1][2] >= targets[1]
            and history[-1][3] >= targets[1]):
        await asyncio.sleep(0.5)
    rows = (row_rate(history, 1, targets[0], span, scored),
            row_rate(history, 2, targets[1], span, scored))
    print(f"  to rows in PostgreSQL: verdicts {rows[0]:,.0f} leads/s, first touches "
          f"{rows[1]:,.0f} leads/s")
    print(f"  workers: RSS {res.rss_mb():,.0f} MB now, peak {res.peak_mb:,.0f} MB; CPU "
          f"{cpu:.0f}% of one core over {wall:.0f} s")
    print(records_taken(before, await asyncio.to_thread(taken.scrape)))
    print_latencies("flat out (queueing included)", hop_latencies(seen, pub.publish_ts, span))
    # What a restart would read again: a commit that stops advancing (1100cde) reads as lag
    # that stays, with every lead reconciled.
    drained = await drain(res.web_ports, COMMITTED_WITHIN_S)
    print("  committed to the end of every partition " + (
        f"{drained:,.1f} s after the rows landed (the provider's later events with it)"
        if drained is not None else f"NOT within {COMMITTED_WITHIN_S:.0f} s: " + "; ".join(
            await asyncio.to_thread(partitions_behind, res.web_ports))))
    settled &= drained is not None
    held = args.paced_rate or rate  # an A/B of two commits holds one load
    for frac in (float(f) for f in args.rates.split(",") if f):
        settled &= await paced_phase(args, pub, watch, res, progress, held, frac, names)
    if args.soak_minutes:
        settled &= await soak(args, pub, watch, res, progress, held)
    poller.cancel()
    print(f"{rate:,.0f} leads/s to first touch requested")
    return settled


async def paced_phase(args: argparse.Namespace, pub: Publisher, watch: Watcher,
                      res: Resources, progress: Progress, rate: float, frac: float,
                      names: dict[str, str]) -> bool:
    assert pub.producer is not None
    progress.phase = f"{frac:.0%} of {rate:,.0f}/s"
    progress.total = pub.published + int(rate * frac * args.phase_seconds)
    # A phase measures its own load: what the one before left queued (sends, rows) first.
    drained = await drain(res.web_ports, args.timeout)
    print(f"before {frac:.0%}: " + (f"the workers read every partition to its end in "
                                    f"{drained:,.1f} s" if drained is not None else
                                    "still behind after --timeout; measured anyway"))
    touched = [a for a in watch.seen.aggregate_of.values() if a not in watch.seen.stopped_ts]
    replies: dict[str, float] = {}

    async def reply_some(elapsed: float) -> None:  # replies of touched persons
        while touched and len(replies) < int(elapsed * args.replies_per_s):
            aggregate = touched.pop()
            key, value = reply(aggregate, len(replies))
            replies[aggregate] = time.time()
            await pub.producer.send(names["provider_events"], value=value, key=key)  # type: ignore[union-attr]

    res.mark()
    lag_before = await asyncio.to_thread(histograms, res.web_ports)
    span = Span(pub.published, 0, time.time())
    sent = await pub.paced(rate * frac, args.phase_seconds, args.paced_batch, progress.tick,
                           reply_some if any(abs(frac - r) < 1e-9 for r in args.reply_fracs)
                           else None)
    span.end = span.first + sent
    ok = await settle(watch, pub.expected(span.first, span.end), progress, args.timeout)
    await asyncio.sleep(3 if replies else 0)
    cpu, _ = res.mark()
    progress.done()
    print(f"paced at {frac:.0%} of the measured rate ({rate * frac:,.0f} leads/s, "
          f"{sent:,} leads): workers CPU {cpu:.0f}% of one core, RSS {res.rss_mb():,.0f} MB")
    print_latencies(f"{frac:.0%}", hop_latencies(watch.seen, pub.publish_ts, span))
    lag_after = await asyncio.to_thread(histograms, res.web_ports)
    print(loop_lag_line(lag_before, lag_after))
    print(batch_line(lag_before, lag_after))
    if replies:
        s = watch.seen
        stops = [s.stopped_ts[a] - t for a, t in replies.items() if a in s.stopped_ts]
        after = sum(1 for a in replies if s.last_send_ts.get(a, 0) > s.stopped_ts.get(a, 1e18))
        p50, _, p99 = percentiles(stops)
        print(f"  stop latency, reply in → sequence stopped: p50 {p50 * 1000:,.0f} ms, p99 "
              f"{p99 * 1000:,.0f} ms ({len(stops)}/{len(replies)} stopped; send requests after "
              f"the stop: {after})")
        # A reply on its person's partition is decided where it lands: no router hop; the
        # engagement hop starts where the reply went in or, if it was re-keyed, was routed.
        hops = {f"router ({sum(a in s.reply_routed_ts for a in replies)} re-keyed)": [
                    s.reply_routed_ts[a] - t for a, t in replies.items()
                    if a in s.reply_routed_ts],
                "engagement": [s.reply_recorded_ts[a] - s.reply_routed_ts.get(a, t)
                               for a, t in replies.items() if a in s.reply_recorded_ts],
                "sequencer, after the record": [
                    s.stopped_ts[a] - s.reply_recorded_ts[a] for a in replies
                    if a in s.stopped_ts and s.reply_recorded_ts.get(a, 1e18) <= s.stopped_ts[a]]}
        # The sequencer reads the webhooks too (agents/sequencer/reply.py): a stop written
        # before the engagement record was decided on arrival, one hop after the reply.
        on_arrival = sum(1 for a in replies
                         if s.stopped_ts.get(a, 1e18) < s.reply_recorded_ts.get(a, 1e18))
        print(f"    stopped on arrival, before the engagement record: {on_arrival} of "
              f"{len(replies)}")
        print("    per hop, p50 / p99: " + ", ".join(
            f"{hop} {percentiles(v)[0] * 1000:,.0f} / {percentiles(v)[2] * 1000:,.0f} ms"
            for hop, v in hops.items()))
        print("    p99 by when the reply went in (10-s slices of the phase): " + ", ".join(
            f"{k * 10}-{k * 10 + 10} s {percentiles(v)[2]:,.1f} s"
            for k, v in sorted(stop_slices(replies, s.stopped_ts, 10.0).items())))
        ok &= len(stops) == len(replies) and after == 0
    return ok


def stop_slices(replies: dict[str, float], stopped: dict[str, float], width: float
                ) -> dict[int, list[float]]:
    """Stop latencies grouped by when their reply went in, in slices of `width` seconds from
    the first reply: a stall of the whole worker shows as one slice, a queue as all of them."""
    if not replies:
        return {}
    t0, slices = min(replies.values()), defaultdict(list)
    for aggregate, t in replies.items():
        if aggregate in stopped:
            slices[int((t - t0) // width)].append(stopped[aggregate] - t)
    return dict(slices)


async def soak(args: argparse.Namespace, pub: Publisher, watch: Watcher, res: Resources,
               progress: Progress, rate: float) -> bool:
    slow = Resources([p.pid for p in res.procs], every=10)
    slow.start()
    stages = WorkerMetrics(res.web_ports, every=60)
    stages.start()
    progress.phase = f"soak at 50% ({args.soak_minutes} min)"
    lag_before = await asyncio.to_thread(histograms, res.web_ports)
    progress.total = pub.published + int(rate * 0.5 * args.soak_minutes * 60)
    sent = await pub.paced(rate * 0.5, args.soak_minutes * 60, args.paced_batch, progress.tick)
    s = watch.seen
    behind = len(pub.expected(0, pub.published)) - len(s.verdict_ts)
    await slow.stop()
    await stages.stop()
    lag = loop_lag_line(lag_before, await asyncio.to_thread(histograms, res.web_ports))
    settled = await settle(watch, pub.expected(0, pub.published), progress, args.timeout)
    progress.done()
    warm = max(60.0, args.soak_minutes * 6)  # the first tenth (at least a minute) warms up
    t0 = slow.samples[0][0]
    after = next((mb for t, mb in slow.samples if t - t0 >= warm), slow.samples[-1][1])
    end = slow.samples[-1][1]
    print(f"soak {args.soak_minutes} min at 50% ({sent:,} leads): RSS {after:,.0f} MB after "
          f"{warm:.0f} s warm-up, {end:,.0f} MB at the end: {100 * (end - after) / after:+.1f}% "
          f"(goal <= +10%); samples every 10 s: "
          + " ".join(f"{mb:.0f}" for _, mb in slow.samples))
    print(f"  leads waiting for their verdict when the soak ended: {behind:,} (a backlog "
          "grows RSS too: read the growth beside it)")
    print("  records taken per minute, by stage (a stall reads as a fall or a run of 0s):")
    print("\n".join(stages.lines()))
    print("  memory held by part, MB, once a minute (outreach_memory_bytes; RocksDB's parts are "
          "inside malloc's when it allocates there):")
    print("\n".join(stages.memory_lines()))
    print(lag)
    return settled


def floor(records: int) -> None:
    """bench/faust_floor.py on this machine in this run (its own broker: it names its topics)."""
    out = subprocess.run([sys.executable, str(Path(__file__).parent / "faust_floor.py"),
                          "--records", str(records)], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        print(f"floor: {line}")
    if out.returncode:
        lines = out.stderr.strip().splitlines()
        print(f"floor: not measured: {lines[-1] if lines else f'exit {out.returncode}'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--layout", default="one", choices=(
        "one", "pools", "both", "sender-apart", "sink-apart", "split", "replicas"))
    parser.add_argument("--rates", default="0.2,0.5,1.0",
                        help="fractions of the measured rate to hold for latency ('' skips)")
    parser.add_argument("--phase-seconds", type=float, default=30)
    parser.add_argument("--paced-batch", type=int, default=1000,
                        help="cards per batch when paced (the flat-out run's 1,000 by default)")
    parser.add_argument("--replies-per-s", type=float, default=5)
    parser.add_argument("--reply-rates", default="0.5",
                        help="the paced fractions (of --rates) during which replies go in, for "
                             "the stop latency")
    parser.add_argument("--soak-minutes", type=float, default=0)
    parser.add_argument("--paced-rate", type=float, default=0, help=(
        "leads/s the paced fractions and the soak are of, instead of the flat-out rate "
        "measured (0): two commits compared at one load"))
    parser.add_argument("--floor-records", type=int, default=20000, help="0 skips the floor")
    parser.add_argument("--timeout", type=float, default=1800, help="per phase, seconds")
    parser.add_argument("--keep-data", default="", help=(
        "a new folder to keep the workers' logs and data in (by default a temporary one, "
        "removed at the end)"))
    args = parser.parse_args()
    args.reply_fracs = [float(r) for r in args.reply_rates.split(",") if r.strip()]
    # A SIGTERM (CI's timeout) unwinds like Ctrl-C, so the workers, broker and PostgreSQL stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.floor_records:
        floor(args.floor_records)
    ok = True
    if "XDG_RUNTIME_DIR" not in os.environ:
        # PostgreSQL's runtime files: pgserver writes them here again as the process exits, so
        # the folder goes by an exit hook registered before pgserver's (exit hooks run last
        # first), not with the data folders.
        runtime = tempfile.mkdtemp(prefix="outreach-e2e-run-")
        atexit.register(shutil.rmtree, runtime, True)
        os.environ["XDG_RUNTIME_DIR"] = runtime
    for layout in (("one", "pools") if args.layout == "both" else (args.layout,)):
        if args.keep_data:
            data = Path(args.keep_data) / layout
            data.mkdir(parents=True, exist_ok=False)
            ok &= asyncio.run(run_layout(args, layout, data))
            print(f"workers' logs and data kept in {data}")
            continue
        with tempfile.TemporaryDirectory(prefix="outreach-e2e-") as tmp:
            ok &= asyncio.run(run_layout(args, layout, Path(tmp)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
