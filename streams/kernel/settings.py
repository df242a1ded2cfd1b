"""Settings from the environment (prefix OUTREACH_) and an optional `.env` file. With neither
OUTREACH_KAFKA_BOOTSTRAP nor OUTREACH_DATABASE_URL set, `outreach-hub up` runs the embedded pair.

Every field carries a description: `outreach-hub settings table` renders the README's reference
table from them (kernel/settings_table.py; a test keeps the README current)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from agents.campaigns.health import HealthPolicy
from agents.gate.policy import GatePolicy
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.exceptions import ConfigurationError
from streams.kernel.kafka_security import KafkaSecurity
from streams.kernel.operator_tokens import parse_tokens
from streams.kernel.settings_checks import non_public_url, one_line, weak_secret
from streams.kernel.settings_sources import (
    ALLOW_UNKNOWN,
    PREFIX,
    allow_unknown,
    gather,
    reading,
    setting_names,
    sources,
    unknown_names,
)

Stage = Literal["intake", "gate", "campaigns", "sequencer", "sender", "engagement",
                "campaign-health", "sink"]
STAGES: tuple[Stage, ...] = (
    "intake", "gate", "campaigns", "sequencer", "sender", "engagement", "campaign-health", "sink")


class Settings(BaseSettings):
    """The environment names are OUTREACH_ + the field name in capitals; a group's fields are
    OUTREACH_<GROUP>_<FIELD>. `from_env` reads them (kernel/settings_sources.py); building
    `Settings(...)` directly uses the defaults and the arguments only."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix=PREFIX, env_nested_delimiter="_",
        env_nested_max_split=1)

    app_id: str = Field(default="outreach-hub", description=(
        "Faust app id = consumer group and prefix of the tables' changelog topics (suffixed "
        "with the stages when a worker runs a subset)"))
    kafka_bootstrap: str | None = Field(default=None, description=(
        "Kafka bootstrap servers (comma-separated); unset with `OUTREACH_DATABASE_URL` unset: "
        "`outreach-hub up` runs the embedded broker and PostgreSQL"))
    kafka: KafkaSecurity = KafkaSecurity()  # OUTREACH_KAFKA_SECURITY_PROTOCOL, _SASL_*, _SSL_*
    database_url: SecretStr | None = Field(default=None, description=(
        "PostgreSQL URL (never logged; `up` prints it masked); unset: the embedded one"))
    data_dir: Path = Field(default=Path(".var"), description=(
        "embedded PostgreSQL data, broker log, Faust data; one `up` or `demo` at a time per "
        "directory (a second one refuses to start)"))
    web_host: str = Field(default="127.0.0.1", description=(
        "address of `/metrics`, `/health` (ready: joined and assigned), `/live` and the public "
        "paths"))
    web_port: int = Field(default=6066, ge=0, le=65535, description="port of those endpoints")
    # A consumer group forms only after the rebalance timeout on Tansu: keep it short there.
    rebalance_timeout_s: float = Field(default=3.0, description=(
        "Kafka consumer rebalance timeout: short for the embedded broker, where a group forms "
        "only after it; raise it on a real cluster"))
    session_timeout_s: float = Field(default=6.0, description="Kafka consumer session timeout")
    heartbeat_interval_s: float = Field(default=1.0, description=(
        "Kafka consumer heartbeat interval"))
    topic_partitions: int | None = Field(default=None, description=(
        "overrides every topic's partition count of topics.yaml (tests use fewer)"))
    # Each stage waits for the broker to acknowledge its emits before writing its table, so
    # linger is latency on every event (or batch): 0 lets records accumulate only while a
    # request is in flight (bench/faust_floor.py: 35% of raw at 0 ms, 16% at 5 ms, batched).
    producer_linger_ms: int = Field(default=0, ge=0, description=(
        "producer linger: latency on every event, since each stage waits for the broker's "
        "acknowledgement before writing its table; 0 still batches while a request is in flight"))
    # Faust's consumer asks the broker to hold an empty fetch for 1,500 ms. Kafka answers it as
    # soon as a record arrives; Tansu only when the wait ends, so every hop waited for it.
    # 500, not less: at 100 six stage pools lost a third of their rate to the extra fetches
    # (kernel/fetch_wait.py has the figures).
    fetch_max_wait_ms: int = Field(default=500, ge=1, le=1500, description=(
        "how long the broker may hold a fetch that finds no new record: on a broker that "
        "answers only when the wait ends (the embedded Tansu) every hop waits up to it; Kafka "
        "answers at the first record, so a short wait only adds empty fetches while idle"))
    table_store: Literal["memory", "rocksdict"] = Field(default="memory", description=(
        "where a worker keeps its tables (the sequencer's persons, caps, seen batches): "
        "`memory` rebuilds them from their changelog topics on every start and every newly "
        "assigned partition (read in bulk, ~100,000 records/s; a million persons in ~10 s); "
        "`rocksdict` keeps "
        "them on disk under `OUTREACH_DATA_DIR` (RocksDB; install the `rocksdb` extra), so a "
        "restart reads only the changelog written since it stopped. Give each worker its own "
        "data directory, and empty it when the changelog topics are deleted or made anew"))
    # Shared by every database of the worker: 40 of them (one worker, 4 partitions) with their
    # own memtables and cache could hold 40 x 12 MB between them (kernel/table_memory.py).
    table_store_memory_mb: int = Field(default=64, ge=8, le=65536, description=(
        "the RocksDB memory of all of a worker's tables on the disk store together: one block "
        "cache of this size that every table and partition shares, their memtables charged "
        "to it (up to half; past that, a database written flushes its memtable). The memory "
        "store ignores it"))
    malloc_trim_seconds: float = Field(default=10.0, ge=0, description=(
        "how often a worker hands the memory it freed back to the system (glibc's "
        "`malloc_trim`, when at least OUTREACH_MALLOC_TRIM_MIN_FREE_MB are free): without it "
        "a worker's RSS stays at the high-water mark of its busiest moment. 0 turns it off; "
        "not glibc: nothing"))
    malloc_trim_min_free_mb: int = Field(default=8, ge=0, description=(
        "the free memory glibc must hold before a trim: each trim walks the heap's free "
        "chunks (a few ms) and the pages it hands back fault in again when next used"))
    malloc_mmap_threshold_kb: int = Field(default=128, ge=0, le=32 * 1024, description=(
        "allocations of at least this many KiB get pages of their own, given back when freed "
        "(glibc's M_MMAP_THRESHOLD, fixed): left to glibc (0), the threshold rises to the "
        "largest block freed so far, and buffers that size (fetched record batches, RocksDB's) "
        "then sit in the heap, whose pages stay with the worker after they are freed. Not "
        "glibc: nothing"))
    sink_batch_size: int = Field(default=500, ge=1, description="PostgreSQL write batch, rows")
    sink_batch_seconds: float = Field(default=0.2, gt=0, description=(
        "PostgreSQL write batch, longest wait"))
    items_per_record: int = Field(default=100, ge=1, le=1000, description=(
        "items packed into one record of the hub's own topics (lead cards, gate verdicts, "
        "enrollments, campaign requests, health observations, placements: one partition's "
        "items of one decision or batch); 1 sends every item alone, in the records a version "
        "before packing reads (set it while such workers run: docs/runbook.md, "
        "Upgrading from a version before packing)"))
    gate_expiry_check_seconds: float = Field(default=5.0, gt=0, description=(
        "how often leads waiting for their company's first score are checked"))
    clock_speed: float = Field(default=1.0, gt=0, description=(
        "above 1 runs the hub's clock accelerated (demo, tests)"))
    clock_anchor: float | None = Field(default=None, description=(
        "unix time at which hub time equals wall time; workers given the same anchor agree on "
        "hub time; unset: the start"))
    sequencer_batch_size: int = Field(default=500, ge=1, description=(
        "events the sequencer decides per broker acknowledgement"))
    # Decoding a stored person was a sixth of a touch's cost (5fc10a3), and a person decided
    # once is soon decided again (its send report, its next touch).
    sequencer_persons_kept: int = Field(default=10_000, ge=0, description=(
        "decoded persons the sequencer keeps between decisions, least recently used out: a "
        "decoded person holds ~8 KB against ~0.5 KB stored, so 10,000 take ~80 MB of a "
        "worker's memory once that many persons have been worked on; fewer: less memory, and "
        "a person's send report or next touch that comes after it left decodes it again"))
    sequencer_persons_kept_seconds: float = Field(default=60.0, ge=0, description=(
        "a decoded person not decided again for this long leaves the kept ones (0: only the "
        "count bounds them): a touch's send report comes within seconds and its next touch "
        "days later, so at a steady load the kept persons settle within this time instead of "
        "filling to the count over many minutes"))
    sequencer_due_horizon_seconds: float = Field(default=3600.0, ge=0, description=(
        "the due index holds the persons due within this time; the others stay in the table "
        "only, which is read again each half horizon (0: hold every person, never read again): "
        "touches are days apart, so a million persons would hold ~270 MB for nudges days away"))
    sequencer_tick_seconds: float = Field(default=1.0, gt=0, description=(
        "wall time between the sequencer's scans for due touches"))
    sequencer_campaign_recheck_seconds: float = Field(default=60.0, gt=0, description=(
        "hub seconds after which a person held by a campaign that may not send (a draft, a "
        "paused one, one not heard of) is looked at again: how soon an approval reaches the "
        "persons enrolled in its draft"))
    sequences_file: Path | None = Field(default=None, description=(
        "sequence definitions per strategy (validated on load); unset: the packaged "
        "`sequences.yaml`"))
    window: SendWindow = SendWindow()
    caps: DailyCaps = DailyCaps()
    log_level: str = Field(default="info", description="`debug`, `info`, `warning` or `error`")
    log_format: Literal["text", "json"] = Field(default="text", description=(
        "`json`: one JSON object a line (`time`, `level`, `logger`, `message`, `exc_info`), the "
        "Faust worker's lines too; a line written while a record is handled carries its "
        "`correlation_id` and `process_id` (a lead batch's is `batch:<batch_id>`). Logs, metrics "
        "and dead-letter reasons hold no address, name or secret"))
    # A worker told to stop is gone within this many seconds, finished or not (streams/shutdown.py)
    shutdown_timeout_s: float = Field(default=30.0, gt=0, description=(
        "a worker told to stop (SIGTERM, Ctrl-C) is gone within this many seconds: it lets the "
        "records in progress finish while they still advance (2 s without one ends the wait), "
        "commits those and nothing after, and past the bound exits at once with code 75; a "
        "second signal exits at once. What it leaves is delivered again on restart, and every "
        "effect is idempotent"))
    # Which stages this worker runs. All by default; a deployment that scales stages apart runs
    # one pool per stage set (Helm: one Deployment each). See group_id.
    stages: tuple[Stage, ...] = Field(default=STAGES, description=(
        "the stages this worker runs; pools of workers per stage set scale stages apart (Helm "
        "`pools`). A subset is its own consumer group and owns its own tables: pick the "
        "topology before the first deployment, and never list a stage in two pools. A worker "
        "whose group is new refuses to start where another group of the app already consumed "
        "its input topics (it would re-process them: sends again)"))
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        default="at_least_once", description=(
            "Faust's processing guarantee. `exactly_once`: a stage's emits, table writes and "
            "input offsets commit in one Kafka transaction; needs a broker with transactions "
            "(not the embedded one) and cannot cover the sender (an email is outside any "
            "transaction): run the sender in a pool of its own with `at_least_once`"))
    # Start even though the group is new and another group of this app consumed its inputs
    # (streams/kernel/group_guard.py): the operator accepts re-processing what is retained.
    accept_new_group: bool = Field(default=False, description=(
        "start anyway after moving a stage between pools, accepting that retained records are "
        "processed again"))
    # Sending (issue: sender). Secrets come from the environment only and are never logged.
    email_provider: Literal["sandbox", "smtp", "sendgrid"] = Field(default="sandbox", description=(
        "`smtp` and `sendgrid` send real emails: they refuse to start without real link "
        "secrets, a public base URL and a booking page"))
    from_email: str = Field(default="outreach@hub.example", description="sender address")
    from_name: str = Field(default="Outreach", description="sender name")
    public_base_url: str = Field(default="http://127.0.0.1:6066", description=(
        "base of the unsubscribe and calendar links: with `smtp` or `sendgrid`, a public "
        "http(s) address (not localhost, loopback, private or link-local), without credentials, "
        "query or fragment"))
    unsubscribe_secret: SecretStr = Field(
        default=SecretStr("embedded-default-unsubscribe-secret"), description=(
            "HMAC key of the unsubscribe tokens: `smtp` and `sendgrid` refuse to start without "
            "a real one of at least 32 bytes"))
    calendar_secret: SecretStr = Field(
        default=SecretStr("embedded-default-calendar-secret"), description=(
            "HMAC key of the calendar links: `smtp` and `sendgrid` refuse to start without a "
            "real one of at least 32 bytes"))
    # Where /calendar/book sends a verified click; None: the page says booking is unavailable.
    booking_url: str | None = Field(default=None, pattern=r"^(https?://\S+)?$", description=(
        "the booking page (required, and public, with `smtp` or `sendgrid`): `/calendar/book` "
        "verifies an email's calendar link (signature, expiry, aggregate), records a `clicked` "
        "event and redirects there with the link's `sid`, `oid`, `exp`, `sig`; the page's "
        "callback publishes `meeting_booked` with that URL as `calendar_link`. Unset: the link "
        "answers 503"))
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server")
    smtp_port: int = Field(default=25, description="SMTP port")
    smtp_username: str | None = Field(default=None, description="SMTP login")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_start_tls: bool | None = Field(default=None, description=(
        "STARTTLS; unset: when the server offers it"))
    sendgrid_api_key: SecretStr | None = Field(default=None, description=(
        "SendGrid v3 mail send API key"))
    sendgrid_base_url: str = Field(default="https://api.sendgrid.com", description=(
        "SendGrid API base (tests point it at a local server)"))
    send_max_attempts: int = Field(default=5, ge=1, description=(
        "transient provider failures retried with backoff before OUT-003"))
    send_unresolved_after_s: float = Field(default=600.0, gt=0, description=(
        "a touch left in flight by a stopped worker waits this long (wall seconds, counted from "
        "when a sender finds it) for evidence of its send, then "
        "`OUTREACH_SEND_UNRESOLVED_POLICY` decides; keep it above the longest provider call with "
        "its retries"))
    send_unresolved_policy: Literal["resend", "fail"] | None = Field(default=None, description=(
        "what happens to a touch still unresolved after that bound: `resend` (the same email, "
        "same Message-ID) or `fail` (OUT-003); unset: the provider's default (smtp and sandbox "
        "resend, sendgrid fails)"))
    sandbox_seed: int | None = Field(default=None, description=(
        "the sandbox simulator's random seed; unset: random"))
    sandbox_engagement: bool = Field(default=True, description=(
        "the sandbox simulates opens, replies, bounces…; false: it delivers and nothing else"))
    engagement_placement_wait_seconds: float = Field(default=3600, gt=0, description=(
        "how long an event or a CL signal waits for its send before OUT-004"))
    # Webhook ingress (streams/webhooks.py): a provider's endpoint answers 404 until its key is
    # set. Lists are comma-separated. Signed timestamps further than the bound are refused.
    webhook_max_age_seconds: float = Field(default=300, gt=0, description=(
        "webhooks signed further from now are refused as stale; Mailgun tokens and SNS "
        "MessageIds are single-use for as long"))
    sendgrid_webhook_public_key: str | None = Field(default=None, description=(
        "the signed event webhook's verification key (base64 DER as SendGrid shows it, or "
        "PEM); unset: the endpoint answers 404"))
    mailgun_signing_key: SecretStr | None = Field(default=None, description=(
        "Mailgun's webhook signing key; unset: the endpoint answers 404"))
    postmark_webhook_user: str | None = Field(default=None, description=(
        "the basic-auth user set on Postmark's webhook URL; unset: the endpoint answers 404"))
    postmark_webhook_password: SecretStr | None = Field(default=None, description=(
        "the basic-auth password set on Postmark's webhook URL"))
    ses_topic_arns: str = Field(default="", description=(
        "the SNS topics (comma-separated) whose SES notifications are accepted; empty: the "
        "endpoint answers 404"))
    ses_trusted_cert_hosts: str = Field(default="", description=(
        "hosts (comma-separated) trusted for SNS certificates and SubscribeURLs besides "
        "`sns.<region>.amazonaws.com`"))
    gate: GatePolicy = GatePolicy()
    # Campaigns (seed 004).
    campaign_draft_ttl_s: float = Field(default=7 * 24 * 3600, gt=0, description=(
        "a campaign draft expires unless reviewed within this many seconds (7 days)"))
    auto_approve_tiers: str = Field(default="", description=(
        "the approval policy: drafts of these tiers (comma-separated, e.g. `BURNING`) are "
        "approved at once, recorded with actor `policy:auto-approve-tiers`; none by default"))
    campaign_max_sends_per_hour: int = Field(default=50, ge=1, description=(
        "execution constraint of an approval that names none: sends per hour per campaign"))
    campaign_max_sends_per_day: int = Field(default=200, ge=1, description=(
        "execution constraint of an approval that names none: sends per day per campaign"))
    campaign_check_seconds: float = Field(default=5.0, gt=0, description=(
        "how often drafts are checked for expiry and approved windows for opening"))
    campaign_audit_check_seconds: float = Field(default=30.0, gt=0, description=(
        "how often active campaigns are checked for sequences that have all ended (the audit)"))
    campaign_audit_settle_seconds: float = Field(default=300.0, ge=0, description=(
        "wall time after a campaign's last sequence or send change before its record is "
        "audited"))
    health: HealthPolicy = HealthPolicy()
    operator_tokens: SecretStr | None = Field(default=None, description=(
        "operator credentials of the HTTP API, `name:token,...` (tokens of 16+ characters); "
        "none set: every operator call is refused"))
    operator_api_wait_seconds: float = Field(default=10.0, gt=0, le=60, description=(
        "how long a campaign command waits for the hub's verdict before answering 202"))
    api_url: str | None = Field(default=None, description=(
        "the CLI's `campaigns` commands: the worker's API; unset: this host's web port"))
    operator_token: SecretStr | None = Field(default=None, description=(
        "the CLI's `campaigns` commands: this operator's token"))
    # The review desk (/desk): the same operators, exchanged for a session cookie.
    desk_secret: SecretStr | None = Field(default=None, description=(
        "HMAC key of the review desk's session cookies and form tokens (16+ bytes); unset: a "
        "random key per worker process (a restart logs everybody out)"))
    desk_session_hours: float = Field(default=8.0, gt=0, le=168, description=(
        "how long a review desk login lasts"))
    desk_one_time_codes: SecretStr | None = Field(default=None, description=(
        "one-time review desk logins, `name:<sha256 hex of the code>,...`: "
        "`/desk/login/once?code=<code>` logs that operator in once (what `demo` prints)"))

    @field_validator("operator_tokens")
    @classmethod
    def _readable_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        # Refused at start, not at the first call; the message names no token.
        parse_tokens(None if value is None else value.get_secret_value())
        return value

    @property
    def operator_api_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        host = "127.0.0.1" if self.web_host in ("0.0.0.0", "::", "") else self.web_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.web_port}"

    @model_validator(mode="after")
    def _real_secrets_outside_the_sandbox(self) -> Settings:
        """A real provider sends real emails: their links must not be forgeable (published or
        short secrets), nor point where the recipients cannot reach (kernel/settings_checks.py)."""
        if self.email_provider == "sandbox":
            return self
        problems = [
            f"{PREFIX}{name.upper()} {why}"
            for name in ("unsubscribe_secret", "calendar_secret")
            if (why := weak_secret(getattr(self, name).get_secret_value()))
        ]
        if why := non_public_url(self.public_base_url):
            problems.append(f"{PREFIX}PUBLIC_BASE_URL {why}")
        # Every email carries a calendar link; without a booking page it answers 503.
        if not self.booking_url:
            problems.append(f"{PREFIX}BOOKING_URL must be set (every email links to it)")
        elif why := non_public_url(self.booking_url.split("?", 1)[0]):
            problems.append(f"{PREFIX}BOOKING_URL {why}")
        if problems:
            raise ValueError(f"email provider {self.email_provider!r}: " + "; ".join(problems))
        return self

    @model_validator(mode="after")
    def _security_needs_a_broker(self) -> Settings:
        if self.kafka.security_protocol != "PLAINTEXT" and self.kafka_bootstrap is None:
            raise ValueError(f"{PREFIX}KAFKA_SECURITY_PROTOCOL={self.kafka.security_protocol} "
                             f"needs {PREFIX}KAFKA_BOOTSTRAP (the embedded broker is PLAINTEXT)")
        return self

    @model_validator(mode="after")
    def _exactly_once_where_it_holds(self) -> Settings:
        if self.processing_guarantee != "exactly_once":
            return self
        if self.kafka_bootstrap is None:
            raise ValueError(f"{PREFIX}PROCESSING_GUARANTEE=exactly_once needs a Kafka with "
                             f"transactions ({PREFIX}KAFKA_BOOTSTRAP): the embedded broker has "
                             "none")
        if "sender" in self.stages:
            # A transaction hides the in-flight marker until it commits, and the provider
            # call happens before that: a crash would forget the marker and send again.
            raise ValueError(f"{PREFIX}PROCESSING_GUARANTEE=exactly_once cannot cover the "
                             "sender (an email is outside any Kafka transaction): run the "
                             "sender in a pool of its own with at_least_once")
        return self

    @model_validator(mode="after")
    def _some_stage(self) -> Settings:
        if not self.stages:
            raise ValueError("OUTREACH_STAGES names no stage; leave it unset to run them all")
        twice = sorted({s for s in self.stages if self.stages.count(s) > 1})
        if twice:
            raise ValueError(f"OUTREACH_STAGES names {', '.join(twice)} twice")
        return self

    @property
    def group_id(self) -> str:
        """The Faust app id, which is the consumer group and the prefix of the tables'
        changelog topics. A Faust app is one consumer group for all its agents, so workers
        running different stage sets must not share one: a worker running a subset joins
        `<app_id>-<its stages>`. The stage set is part of the name of the state, so choose the
        topology before the first deployment."""
        if set(self.stages) == set(STAGES):
            return self.app_id
        return "-".join((self.app_id, *sorted(set(self.stages))))

    @property
    def embedded(self) -> bool:
        return self.kafka_bootstrap is None and self.database_url is None

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return sources(settings_cls, init_settings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of the environment (`env`, default os.environ) over the env file:
        `OUTREACH_ENV_FILE`, else `.env` in the working directory when present and `env` is
        not given. An OUTREACH_* name that is no setting is refused (one line naming it and the
        closest setting) unless OUTREACH_ALLOW_UNKNOWN_SETTINGS is true."""
        environ = os.environ if env is None else env
        variables, env_file = gather(environ, default_file=env is None)
        unknown = unknown_names(variables, set(setting_names(cls)), env_file, environ)
        if unknown and not allow_unknown(variables):
            # A typo in a sending setting would fall back to its default without a word.
            raise ConfigurationError(f"unknown setting {', '.join(unknown)}; set "
                                     f"{ALLOW_UNKNOWN}=true to start anyway")
        try:
            with reading(variables):
                settings = cls()
        except ValidationError as exc:
            # One line, and never a secret's value (pydantic's text repeats every input).
            raise ConfigurationError(f"invalid settings: {one_line(exc, PREFIX, SECRETS)}") from exc
        except SettingsError as exc:
            raise ConfigurationError(f"invalid settings: {str(exc).splitlines()[0]}") from exc
        settings._unknown = tuple(unknown)
        return settings

    _unknown: tuple[str, ...] = PrivateAttr(default=())

    def warnings(self) -> list[str]:
        """What a worker logs at start: settings that work but expose or ignore something."""
        return [f"unknown setting {u} ignored ({ALLOW_UNKNOWN}=true)" for u in self._unknown] \
            + self.kafka.warnings()


SECRETS = frozenset(
    n for model in (Settings, KafkaSecurity) for n, f in model.model_fields.items()
    if "SecretStr" in str(f.annotation))
