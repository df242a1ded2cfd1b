"""Prometheus metrics. Labels are low-cardinality codes, never ids, emails or names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

from streams.contracts.decision import Count, CounterName, GaugeName, SetGauge

REGISTRY = CollectorRegistry(auto_describe=True)



def _engagement(kind: str) -> Counter:
    return Counter(f"outreach_engagement_{kind}_total",
                   f"{kind.title()} counted for ENGAGEMENT_RATE, each once per worker "
                   "(sequence_id: the definition; campaign: 'none' when unset)",
                   ["sequence_id", "campaign"], registry=REGISTRY)


COUNTERS: dict[CounterName, Counter] = {
    "intake_batches_total": Counter(
        "outreach_intake_batches_total", "Lead batches by outcome", ["outcome"], registry=REGISTRY
    ),
    "intake_cards_total": Counter(
        "outreach_intake_cards_total",
        "Lead cards by disposition",
        ["disposition"],
        registry=REGISTRY,
    ),
    "gate_verdicts_total": Counter(
        "outreach_gate_verdicts_total", "Gate verdicts", ["verdict", "tier"], registry=REGISTRY
    ),
    "gate_leads_waiting_total": Counter(
        "outreach_gate_leads_waited_total", "Leads that waited for a BIT score", registry=REGISTRY
    ),
    "gate_scores_ignored_total": Counter(
        "outreach_gate_scores_ignored_total",
        "BIT scores older than the one held",
        registry=REGISTRY,
    ),
    "dead_letters_total": Counter(
        "outreach_dead_letters_total", "Records dead-lettered", ["stage", "code"], registry=REGISTRY
    ),
    "sink_rows_total": Counter(
        "outreach_sink_rows_total", "Rows newly written to PostgreSQL", registry=REGISTRY
    ),
    "sequencer_enrollments_total": Counter(
        "outreach_sequencer_enrollments_total", "Enrollments by outcome", ["outcome"],
        registry=REGISTRY),
    "sequencer_touches_requested_total": Counter(
        "outreach_sequencer_touches_requested_total", "Due touches handed to the sender",
        ["channel"], registry=REGISTRY),
    "sequencer_touches_deferred_total": Counter(
        "outreach_sequencer_touches_deferred_total", "Due touches deferred", ["reason"],
        registry=REGISTRY),
    "sequencer_commands_refused_total": Counter(
        "outreach_sequencer_commands_refused_total",
        "Compare-and-set commands refused (stale version, other aggregate, other touch)",
        ["reason"], registry=REGISTRY),
    "sequencer_sequences_ended_total": Counter(
        "outreach_sequencer_sequences_ended_total", "Sequences ended", ["status"],
        registry=REGISTRY),
    "sequencer_webhook_events_total": Counter(
        "outreach_sequencer_webhook_events_total",
        "Provider events that end a sequence, taken by the sequencer on arrival: applied (the "
        "stop or suppression, before its engagement record) or unchanged (the record came "
        "first, or nothing to end)", ["outcome"], registry=REGISTRY),
    "sender_requests_total": Counter(
        "outreach_sender_requests_total", "Send requests by outcome", ["outcome"],
        registry=REGISTRY),
    "provider_events_total": Counter(
        "outreach_provider_events_total",
        "Provider events by where the engagement stage took them: on their person's partition "
        "(here), re-keyed to it (rerouted, one hop more), or to be placed by message id "
        "(placement)", ["path"], registry=REGISTRY),
    "engagement_events_total": Counter(
        "outreach_engagement_events_total", "Provider events by type and outcome",
        ["type", "outcome"], registry=REGISTRY),
    "cl_signals_total": Counter(
        "outreach_cl_signals_total", "Engagement signals to CL", ["signal"], registry=REGISTRY),
    "campaign_health_observations_total": Counter(
        "outreach_campaign_health_observations_total",
        "Health evidence by kind (send, hard_bounce, complaint, open, reply) and outcome "
        "(counted; ignored: counted before or older than the window)",
        ["kind", "outcome"], registry=REGISTRY),
    "campaign_health_verdicts_total": Counter(
        "outreach_campaign_health_verdicts_total",
        "Campaign health verdict changes emitted, by verdict and by the scope that decided",
        ["verdict", "scope"], registry=REGISTRY),
    "events_emitted_total": Counter(
        "outreach_events_emitted_total", "Records emitted (a packed record counts once)",
        ["topic"], registry=REGISTRY
    ),
    # ENGAGEMENT_RATE's terms, so PromQL computes the rate across workers and restarts.
    "engagement_sends_total": _engagement("sends"),
    "engagement_opens_total": _engagement("opens"),
    "engagement_replies_total": _engagement("replies"),
}
SINK_BATCH_SECONDS = Histogram(
    "outreach_sink_batch_seconds", "Time to write one batch to PostgreSQL", registry=REGISTRY
)
SINK_FAILURES = Counter(
    "outreach_sink_failures_total", "Failed PostgreSQL batch writes (retried)", registry=REGISTRY
)
ENGAGEMENT_RATE = Gauge(
    "outreach_engagement_rate",
    "(opens + replies) / sends per campaign, on this worker's partitions only (resets on "
    "restart; the cluster's rate is PromQL over outreach_engagement_*_total); healthy >= 0.30",
    ["campaign"], registry=REGISTRY)
GAUGES: dict[GaugeName, Gauge] = {"engagement_rate": ENGAGEMENT_RATE}

# Operations: observed by the kernel and the shells, never by cores. docs/metrics.md lists all.
_FAST = (.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
STAGE_BATCH_SECONDS = Histogram(
    "outreach_stage_batch_seconds", "Time to decide and carry out one batch, per stage agent",
    ["stage"], buckets=_FAST, registry=REGISTRY)
STAGE_ACK_WAIT_SECONDS = Histogram(
    "outreach_stage_ack_wait_seconds",
    "Time a stage agent's batch waited for the broker to acknowledge its emits, per wait",
    ["stage"], buckets=_FAST, registry=REGISTRY)
STAGE_RECORDS = Counter(
    "outreach_stage_records_total", "Records taken by a stage agent", ["stage"],
    registry=REGISTRY)
SKIPPED_ACKS_REFUSED = Counter(
    "outreach_skipped_acks_refused_total",
    "Records Faust skipped during a rebalance whose acknowledgement was refused (delivered again)",
    registry=REGISTRY)
FETCH_RESEEKS = Counter(
    "outreach_fetch_reseeks_total",
    "Partitions sought back because a record arrived past the next offset (fetched before a seek)",
    registry=REGISTRY)
COMMITS_HELD = Counter(
    "outreach_commits_held_total",
    "Commits held back: records before the acknowledged ones not acknowledged, or table "
    "writes not yet in the changelog",
    registry=REGISTRY)
EVENT_AGE_SECONDS = Histogram(
    "outreach_event_age_seconds", "Wall time from a record's timestamp to its stage deciding it",
    ["stage"], buckets=(.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
    registry=REGISTRY)
SEND_SECONDS = Histogram(
    "outreach_send_seconds", "One email provider call (sent, transient, permanent, error)",
    ["provider", "outcome"], buckets=_FAST, registry=REGISTRY)
CONSUMER_LAG = Gauge(
    "outreach_consumer_lag", "High-watermark minus committed offset of each partition this "
    "worker is assigned (the hub's own topics), sampled every few seconds",
    ["group", "topic", "partition"], registry=REGISTRY)
TABLE_KEYS = Gauge(
    "outreach_table_keys", "Keys in this worker's copy of a Faust table (active and standby)",
    ["table"], registry=REGISTRY)
DUE_INDEX_KEYS = Gauge(
    "outreach_due_index_keys", "Keys a timer's due index holds on this worker (the sequencer's "
    "persons due within OUTREACH_SEQUENCER_DUE_HORIZON_SECONDS, the gate's companies with a "
    "waiting lead), set on each tick", ["timer"], registry=REGISTRY)
MEMORY_BYTES = Gauge(
    "outreach_memory_bytes", "What this worker's memory is held by, sampled once a minute: "
    "rss_anonymous / rss_file (the resident set as Linux splits it), malloc_in_use / "
    "malloc_free / malloc_mmapped (glibc's heap and its own-page blocks; RocksDB allocates "
    "there too), rocksdb_budget (cached blocks and memtables charged to the table stores' "
    "budget), rocksdb_table_readers (index and filter blocks outside it)",
    ["part"], registry=REGISTRY)
PYTHON_BLOCKS = Gauge(
    "outreach_python_allocated_blocks", "Memory blocks the Python allocator has handed out "
    "(sys.getallocatedblocks: live objects, roughly)", registry=REGISTRY)
MALLOC_TRIM_SECONDS = Histogram(
    "outreach_malloc_trim_seconds", "How long each malloc_trim took, the worker's event loop "
    "held meanwhile (trims run every OUTREACH_MALLOC_TRIM_SECONDS when glibc holds at least "
    "OUTREACH_MALLOC_TRIM_MIN_FREE_MB free)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0), registry=REGISTRY)
EVENT_LOOP_LAG_SECONDS = Histogram(
    "outreach_event_loop_lag_seconds", "How much later than asked a task sleeping 100 ms woke: "
    "how long the worker's event loop kept every stage, timer and heartbeat waiting",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0), registry=REGISTRY)
ProcessCollector(registry=REGISTRY)  # process_resident_memory_bytes, _cpu_seconds_total, fds


def apply(count: Count) -> None:
    counter = COUNTERS[count.metric]  # every CounterName is declared (tests/unit/kernel)
    if count.labels:
        counter.labels(**dict(count.labels)).inc(count.amount)
    else:
        counter.inc(count.amount)


def set_gauge(setting: SetGauge) -> None:
    GAUGES[setting.metric].labels(**dict(setting.labels)).set(setting.value)


# The latest rates per campaign and per sending domain on this worker's partitions (rate:
# bounce, complaint, engagement). The campaign label set is bounded by the shell, which keeps
# the most recently evaluated campaigns only (streams/shells/campaign_health.py).
CAMPAIGN_HEALTH_RATE = Gauge(
    "outreach_campaign_health_rate",
    "Rates over the health window per campaign; pause at complaint >= 0.001 or bounce >= 0.05",
    ["campaign", "rate"], registry=REGISTRY)
SENDING_DOMAIN_HEALTH_RATE = Gauge(
    "outreach_sending_domain_health_rate",
    "Rates over the health window per sending domain (the From address's domain)",
    ["domain", "rate"], registry=REGISTRY)
