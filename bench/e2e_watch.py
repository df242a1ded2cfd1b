"""What bench/e2e.py measures, from outside the hub: an independent aiokafka consumer (no
group, from the start) over the hub's output topics, PostgreSQL row counts, and the workers'
RSS and CPU (psutil). Every time is a record timestamp (the producing client's clock, the same
machine's as the publisher's). Beside them, what waits on them: the progress line, settling
after a phase, and a sink-only worker's readiness."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import asyncpg
import orjson
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from e2e_load import Publisher

from streams.process import WorkerProcess

# Topic aliases of topics.yaml this watcher reads.
WATCHED = ("gate_verdicts", "sequence_commands", "send_requests", "sequence_events", "errors",
           "engagement_routed", "engagement_events")


@dataclass
class Seen:
    verdict_ts: dict[str, float] = field(default_factory=dict)  # lead_id -> first verdict
    verdicts: Counter[str] = field(default_factory=Counter)
    # Leads gated with no score (their company's never came: the wait expired). A timer's
    # figure, not the pipeline's: left out of rates and latencies.
    unscored: set[str] = field(default_factory=set)
    allow_held: Counter[str] = field(default_factory=Counter)  # ALLOW, no enrollment: why
    enroll_ts: dict[str, float] = field(default_factory=dict)  # lead_id -> enrollment command
    contact_of: dict[str, str] = field(default_factory=dict)  # lead_id -> contact_key
    touch1_ts: dict[str, float] = field(default_factory=dict)  # contact_key -> touch 1 asked
    aggregate_of: dict[str, str] = field(default_factory=dict)  # contact_key -> aggregate
    last_send_ts: dict[str, float] = field(default_factory=dict)  # aggregate -> latest request
    stopped_ts: dict[str, float] = field(default_factory=dict)  # aggregate -> sequence_stopped
    # A reply's hops before the stop: routed to the person, then recorded by engagement.
    reply_routed_ts: dict[str, float] = field(default_factory=dict)  # aggregate -> routed
    reply_recorded_ts: dict[str, float] = field(default_factory=dict)  # aggregate -> recorded
    dead_letters: Counter[str] = field(default_factory=Counter)
    records: int = 0


def _allow_held_reason(v: dict[str, Any]) -> str | None:
    """Why an ALLOW verdict starts no sequence (agents/sequencer/enrollment.py's rule)."""
    contact = v.get("contact") or {}
    if v.get("strategy") not in ("PERSONALIZED_EMAIL", "PHONE_AND_EMAIL"):
        return f"strategy {v.get('strategy')}"
    if not contact.get("email") or not contact.get("email_verified"):
        return "no verified email"
    return None


class Watcher:
    def __init__(self, bootstrap: str, names: dict[str, str]) -> None:
        self.bootstrap, self.names = bootstrap, names
        self.seen = Seen()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap,
                                         enable_auto_commit=False, group_id=None,
                                         fetch_max_bytes=32 * 2**20)
        await self.consumer.start()
        meta = await self.consumer._client.fetch_all_metadata()
        tps = [TopicPartition(self.names[a], p) for a in WATCHED
               for p in sorted(meta.partitions_for_topic(self.names[a]) or ())]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)
        self.handlers = {self.names["gate_verdicts"]: self._verdict,
                         self.names["sequence_commands"]: self._command,
                         self.names["send_requests"]: self._request,
                         self.names["sequence_events"]: self._sequence_event,
                         self.names["errors"]: self._error,
                         self.names["engagement_routed"]: self._routed,
                         self.names["engagement_events"]: self._recorded}
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.consumer.stop()
        except asyncio.CancelledError:
            # aiokafka's fetcher lets the cancellation of its own fetch task (asleep in a
            # retry backoff) out of close(): seen at the end of a soak, after the results.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise

    async def _run(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=200, max_records=20000)
            for tp, records in batch.items():
                handle = self.handlers[tp.topic]
                for r in records:
                    with contextlib.suppress(orjson.JSONDecodeError, TypeError, KeyError):
                        handle(orjson.loads(r.value), r.timestamp / 1000)
                self.seen.records += len(records)

    def _verdict(self, v: dict[str, Any], ts: float) -> None:
        if v.get("type") == "leads_gated":  # packed: each verdict at the record's time
            for one in v["verdicts"]:
                self._verdict(one, ts)
            return
        s = self.seen
        if v["lead_id"] in s.verdict_ts:
            return
        s.verdict_ts[v["lead_id"]] = ts
        s.verdicts[v["verdict"]] += 1
        if v.get("bit_score") is None:
            s.unscored.add(v["lead_id"])
        if v["verdict"] == "ALLOW" and (reason := _allow_held_reason(v)):
            s.allow_held[reason] += 1

    def _command(self, v: dict[str, Any], ts: float) -> None:
        if v.get("type") == "enroll_contacts":  # packed: each at the record's time
            for one in v["enrollments"]:
                self._command(one, ts)
            return
        if v.get("type") == "enroll_contact" and v["lead_id"] not in self.seen.enroll_ts:
            self.seen.enroll_ts[v["lead_id"]] = ts
            self.seen.contact_of[v["lead_id"]] = v["contact_key"]

    def _request(self, v: dict[str, Any], ts: float) -> None:
        s = self.seen
        if v.get("touch_index") == 1 and v["contact_key"] not in s.touch1_ts:
            s.touch1_ts[v["contact_key"]] = ts
            s.aggregate_of[v["contact_key"]] = v["aggregate_id"]
        s.last_send_ts[v["aggregate_id"]] = max(ts, s.last_send_ts.get(v["aggregate_id"], 0))

    def _sequence_event(self, v: dict[str, Any], ts: float) -> None:
        if v.get("type") == "sequence_stopped":
            self.seen.stopped_ts.setdefault(v["aggregate_id"], ts)

    def _routed(self, v: dict[str, Any], ts: float) -> None:
        if v.get("type") == "replied" and v.get("aggregate_id"):
            self.seen.reply_routed_ts.setdefault(v["aggregate_id"], ts)

    def _recorded(self, v: dict[str, Any], ts: float) -> None:
        if v.get("type") == "replied":
            self.seen.reply_recorded_ts.setdefault(v["aggregate_id"], ts)

    def _error(self, v: dict[str, Any], ts: float) -> None:
        self.seen.dead_letters[str(v.get("error_code") or v.get("code"))] += 1


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (nearest rank); NaN when there is nothing to rank."""
    if not values:
        return (float("nan"), float("nan"), float("nan"))
    ranked = sorted(values)
    pick = [ranked[min(len(ranked) - 1, int(q * len(ranked)))] for q in (0.50, 0.95, 0.99)]
    return pick[0], pick[1], pick[2]


async def pg_counts(url: str) -> tuple[int, int, int]:
    """Rows the sink wrote: gate verdicts, first touches in send_log, and those sent."""
    conn = await asyncpg.connect(url)
    try:
        verdicts = await conn.fetchval("SELECT count(*) FROM outreach.gate_verdicts")
        touches, sent = await conn.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE status <> 'scheduled') "
            "FROM outreach.send_log WHERE touch_index = 1")
        return int(verdicts), int(touches), int(sent)
    finally:
        await conn.close()


class Sampler:
    """Calls `sample` every `every` seconds from `start` until `stop`."""

    every: float
    _task: asyncio.Task[None] | None = None

    async def sample(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.sample()
            await asyncio.sleep(self.every)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Resources(Sampler):
    """The workers' RSS and CPU, sampled every `every` seconds (all processes summed)."""

    def __init__(self, pids: list[int], every: float = 1.0, web_ports: list[int] | None = None
                 ) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.web_ports = list(web_ports or [])  # their /metrics, for WorkerMetrics
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (monotonic, RSS MB)
        self.peak_mb = 0.0
        self._task: asyncio.Task[None] | None = None
        self._cpu0 = self.cpu_seconds()
        self._wall0 = time.monotonic()

    def rss_mb(self) -> float:
        return sum(p.memory_info().rss for p in self.procs) / 2**20

    def cpu_seconds(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self.procs)

    def mark(self) -> tuple[float, float]:
        """CPU used since the last mark, as % of one core, and the wall seconds it covers."""
        cpu, wall = self.cpu_seconds(), time.monotonic()
        out = (100 * (cpu - self._cpu0) / max(wall - self._wall0, 1e-9), wall - self._wall0)
        self._cpu0, self._wall0 = cpu, wall
        return out

    async def sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            rss = self.rss_mb()
            self.samples.append((time.monotonic(), rss))
            self.peak_mb = max(self.peak_mb, rss)


class Progress:
    """One carriage-return line on stderr (a line every 10 s when stderr is not a terminal)."""

    def __init__(self, watch: Watcher, pub: Publisher, total: int) -> None:
        self.watch, self.pub, self.total = watch, pub, total
        self.tty, self.last = sys.stderr.isatty(), 0.0
        self.phase = ""

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last < (0.5 if self.tty else 10):
            return
        self.last = now
        s = self.watch.seen
        line = (f"[{self.phase}] published {self.pub.published:,}/{self.total:,}  verdicts "
                f"{len(s.verdict_ts):,}  enrolled {len(s.enroll_ts):,}  first touches "
                f"{len(s.touch1_ts):,}")
        print(("\r" + line + "   ") if self.tty else line, end="" if self.tty else "\n",
              file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)


async def settle(watch: Watcher, expect: list[str], progress: Progress, timeout: float) -> bool:
    """Until every expected lead has its verdict, every ALLOW verdict that starts a sequence
    its enrollment, every enrolled person a first touch, and nothing moved for 3 s (a late
    score's leads are gated after the wait expires). Without the enrollments counted, a
    saturated worker's 3-s pause between its last verdict and its next enrollments read as
    the end: 100,000 leads measured to 14,876 first touches of 32,258 (ecea4b3)."""
    s, deadline, quiet = watch.seen, time.monotonic() + timeout, (0, 0.0)
    while time.monotonic() < deadline:
        progress.tick()
        state = len(s.verdict_ts) + len(s.enroll_ts) + len(s.touch1_ts)
        if state != quiet[0]:
            quiet = (state, time.monotonic())
        enrollable = s.verdicts["ALLOW"] - sum(s.allow_held.values())
        done = (all(lead in s.verdict_ts for lead in expect)
                and len(s.enroll_ts) >= enrollable
                and all(c in s.touch1_ts for c in s.contact_of.values()))
        if done and time.monotonic() - quiet[1] > 3:
            return True
        await asyncio.sleep(0.5)
    return False


def wait_consuming(worker: WorkerProcess, timeout: float) -> None:
    """Ready to be measured once the worker reports its consumer lag (it has fetched from its
    partitions), a step past /health's "ok"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited; see {worker.log_path}")
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{worker.web_port}/metrics"
            with urllib.request.urlopen(url, timeout=1) as r:
                if b"outreach_consumer_lag{" in r.read():
                    return
        time.sleep(0.5)
    raise TimeoutError(f"worker not consuming after {timeout}s; see {worker.log_path}")


LOOP_LAG = "outreach_event_loop_lag_seconds"
BATCH = "outreach_stage_batch_seconds"
ACK_WAIT = "outreach_stage_ack_wait_seconds"
Histograms = dict[tuple[str, str, str], float]


def histograms(ports: list[int]) -> Histograms:
    """The workers' loop-lag, stage-batch and ack-wait histograms, summed over them, keyed by
    (family, stage or "", key): key is a bucket's bound (`le`, observations at or under it),
    "count" or "sum"."""
    totals: defaultdict[tuple[str, str, str], float] = defaultdict(float)
    for line in metrics_lines(ports):
        head, _, rest = line.partition("{")
        family, _, kind = head.split(" ", 1)[0].rpartition("_")
        if family not in (LOOP_LAG, BATCH, ACK_WAIT) or kind not in ("bucket", "count", "sum"):
            continue
        stage = rest.split('stage="', 1)[1].split('"', 1)[0] if 'stage="' in rest else ""
        key = rest.split('le="', 1)[1].split('"', 1)[0] if kind == "bucket" else kind
        totals[(family, stage, key)] += float(line.split()[-1])
    return dict(totals)


def partitions_behind(ports: list[int]) -> list[str]:
    """Each partition a worker has not read to its end (`outreach_consumer_lag` above 0): where
    a record the reconciliation misses is waiting, if it is waiting at all."""
    found = []
    for line in metrics_lines(ports):
        if line.startswith("outreach_consumer_lag{") and float(line.split()[-1]) > 0:
            labels = line[line.index("{") + 1:line.index("}")]
            found.append(f"{labels} {float(line.split()[-1]):,.0f}")
    return found


async def drain(ports: list[int], timeout: float) -> float | None:
    """Seconds until no worker reports a partition behind (the gauge is sampled every 5 s),
    or None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not await asyncio.to_thread(partitions_behind, ports):
            return time.monotonic() - started
        await asyncio.sleep(1.0)
    return None


def metrics_lines(ports: list[int]) -> Iterator[str]:
    """Every line of each worker's /metrics; a worker that does not answer gives none."""
    for port in ports:
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                text = r.read().decode()
            yield from text.splitlines()


def _between(before: Histograms, after: Histograms, family: str) -> dict[str, dict[str, float]]:
    by_stage: defaultdict[str, dict[str, float]] = defaultdict(dict)
    for (fam, stage, key), v in after.items():
        if fam == family:
            by_stage[stage][key] = v - before.get((fam, stage, key), 0.0)
    return dict(by_stage)


def loop_lag_line(before: Histograms, after: Histograms) -> str:
    """Between two `histograms` scrapes: how often and how long the workers' loops were held."""
    d = _between(before, after, LOOP_LAG).get("", {})
    n = d.get("count", 0.0)
    if not n:
        return "  event loop lag: not reported"
    over = ", ".join(f"> {le} s {n - d.get(le, 0.0):,.0f}" for le in ("0.25", "1.0", "2.5", "5.0"))
    return (f"  event loop lag (a 100 ms sleep woke late): {n:,.0f} wake-ups, "
            f"{d.get('sum', 0.0):,.1f} s late in all; late {over}")


def batch_line(before: Histograms, after: Histograms) -> str:
    """Between two scrapes, per stage: its batches, their time in all and the part of it spent
    waiting for the broker's acknowledgements, and how many took over 1 s and over 5 s."""
    parts = []
    acks = _between(before, after, ACK_WAIT)
    for stage, d in sorted(_between(before, after, BATCH).items()):
        n = d.get("count", 0.0)
        if n:
            parts.append(f"{stage} {n:,.0f} / {d.get('sum', 0.0):,.1f} s / "
                         f"{acks.get(stage, {}).get('sum', 0.0):,.1f} s / "
                         f"{n - d.get('1.0', n):,.0f} / {n - d.get('5.0', n):,.0f}")
    return ("  stage batches (count / seconds in all / of which waiting for the broker's acks / "
            "over 1 s / over 5 s): " + (", ".join(parts) or "not reported"))


class WorkerMetrics(Sampler):
    """From the workers' /metrics every `every` seconds: each stage's records taken
    (`outreach_stage_records_total`) and what their memory is held by
    (`outreach_memory_bytes`), each summed over the workers: where a soak's stall is, and
    what its growth is, without a profiler."""

    FAMILIES = {"outreach_stage_records_total": "stage", "outreach_memory_bytes": "part"}
    BLOCKS = "outreach_python_allocated_blocks"  # unlabelled: Python's own objects, counted
    TRIMS = ("outreach_malloc_trim_seconds_count", "outreach_malloc_trim_seconds_sum")

    def __init__(self, ports: list[int], every: float = 60.0) -> None:
        self.ports, self.every = ports, every
        self.samples: list[dict[tuple[str, str], float]] = []
        self._task: asyncio.Task[None] | None = None

    def scrape(self) -> dict[tuple[str, str], float]:
        totals: defaultdict[tuple[str, str], float] = defaultdict(float)
        for line in metrics_lines(self.ports):
            name, _, value = line.partition(" ")
            if name == self.BLOCKS or name in self.TRIMS:
                totals[(name, "")] += float(value)
                continue
            family, _, rest = line.partition("{")
            label = self.FAMILIES.get(family)
            if label and rest.startswith(f'{label}="'):
                name = rest.split('"', 2)[1]
                totals[(family, name)] += float(line.split()[-1])
        return dict(totals)

    async def sample(self) -> None:
        self.samples.append(await asyncio.to_thread(self.scrape))

    async def stop(self) -> None:
        await super().stop()
        await self.sample()  # the last interval, up to the soak's end

    def _names(self, family: str) -> list[str]:
        return sorted({n for sample in self.samples for f, n in sample if f == family})

    def lines(self) -> list[str]:
        """Per stage, the records taken in each interval (a stall reads as a run of 0s)."""
        family = "outreach_stage_records_total"
        return [f"    {stage:<24} " + " ".join(
                    f"{b.get((family, stage), 0) - a.get((family, stage), 0):,.0f}"
                    for a, b in pairwise(self.samples))
                for stage in self._names(family)]

    def memory_lines(self) -> list[str]:
        """Per part, MB held at each sample (the workers sample it once a minute)."""
        family = "outreach_memory_bytes"
        return [f"    {part:<24} " + " ".join(
                    f"{sample.get((family, part), 0) / 2**20:,.0f}" for sample in self.samples)
                for part in self._names(family)] + [
                f"    {'python blocks (1,000s)':<24} " + " ".join(
                    f"{sample.get((self.BLOCKS, ''), 0) / 1000:,.0f}" for sample in self.samples),
                self.trim_line()]

    def trim_line(self) -> str:
        """How many times the workers trimmed their heap, and what a trim held the loop."""
        last = self.samples[-1] if self.samples else {}
        count, total = (last.get((name, ""), 0.0) for name in self.TRIMS)
        mean = f", {total / count * 1000:,.1f} ms each on average" if count else ""
        return f"    malloc trims: {count:,.0f}{mean}"
