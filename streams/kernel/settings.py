"""Settings from the environment (prefix OUTREACH_). With neither OUTREACH_KAFKA_BOOTSTRAP nor
OUTREACH_DATABASE_URL set, `outreach-hub up` runs the embedded pair."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from agents.campaigns.health import HealthPolicy
from agents.gate.policy import GatePolicy
from agents.sequencer.window import DailyCaps, SendWindow
from streams.contracts.exceptions import ConfigurationError
from streams.kernel.operator_tokens import parse_tokens
from streams.kernel.settings_checks import non_public_url, one_line, weak_secret

PREFIX = "OUTREACH_"
Stage = Literal["intake", "gate", "campaigns", "sequencer", "sender", "engagement",
                "campaign-health", "sink"]
STAGES: tuple[Stage, ...] = (
    "intake", "gate", "campaigns", "sequencer", "sender", "engagement", "campaign-health", "sink")


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    app_id: str = "outreach-hub"
    kafka_bootstrap: str | None = None
    database_url: SecretStr | None = None
    data_dir: Path = Path(".var")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    # A consumer group forms only after the rebalance timeout on Tansu: keep it short there.
    rebalance_timeout_s: float = 3.0
    session_timeout_s: float = 6.0
    heartbeat_interval_s: float = 1.0
    topic_partitions: int | None = None  # overrides topics.yaml (tests use fewer partitions)
    # Each stage waits for the broker to acknowledge its emits before writing its table, so
    # linger is latency on every event (or batch): 0 lets records accumulate only while a
    # request is in flight (bench/faust_floor.py: 35% of raw at 0 ms, 16% at 5 ms, batched).
    producer_linger_ms: int = Field(default=0, ge=0)
    sink_batch_size: int = Field(default=500, ge=1)
    sink_batch_seconds: float = Field(default=0.2, gt=0)
    gate_expiry_check_seconds: float = Field(default=5.0, gt=0)
    clock_speed: float = Field(default=1.0, gt=0)  # >1 runs the hub's clock accelerated
    clock_anchor: float | None = None  # unix time at which hub time == wall time (shared)
    sequencer_batch_size: int = Field(default=500, ge=1)  # events decided per broker ack wait
    sequencer_tick_seconds: float = Field(default=1.0, gt=0)  # wall time between due scans
    sequences_file: Path | None = None  # sequence definitions; None: the packaged defaults
    window: SendWindow = SendWindow()
    caps: DailyCaps = DailyCaps()
    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object a line (log shippers)
    # A worker told to stop is gone within this many seconds, finished or not (streams/shutdown.py)
    shutdown_timeout_s: float = Field(default=30.0, gt=0)
    # Which stages this worker runs. All by default; a deployment that scales stages apart runs
    # one pool per stage set (Helm: one Deployment each). See group_id.
    stages: tuple[Stage, ...] = STAGES
    # Start even though the group is new and another group of this app consumed its inputs
    # (streams/kernel/group_guard.py): the operator accepts re-processing what is retained.
    accept_new_group: bool = False
    # Sending (issue: sender). Secrets come from the environment only and are never logged.
    email_provider: Literal["sandbox", "smtp", "sendgrid"] = "sandbox"
    from_email: str = "outreach@hub.example"
    from_name: str = "Outreach"
    public_base_url: str = "http://127.0.0.1:6066"
    unsubscribe_secret: SecretStr = SecretStr("embedded-default-unsubscribe-secret")
    calendar_secret: SecretStr = SecretStr("embedded-default-calendar-secret")
    # Where /calendar/book sends a verified click; None: the page says booking is unavailable.
    booking_url: str | None = Field(default=None, pattern=r"^(https?://\S+)?$")
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_start_tls: bool | None = None
    sendgrid_api_key: SecretStr | None = None
    sendgrid_base_url: str = "https://api.sendgrid.com"
    send_max_attempts: int = Field(default=5, ge=1)
    sandbox_seed: int | None = None
    sandbox_engagement: bool = True  # False: the sandbox delivers and nothing else happens
    engagement_placement_wait_seconds: float = Field(default=3600, gt=0)
    # Webhook ingress (streams/webhooks.py): a provider's endpoint answers 404 until its key is
    # set. Lists are comma-separated. Signed timestamps further than the bound are refused.
    webhook_max_age_seconds: float = Field(default=300, gt=0)
    sendgrid_webhook_public_key: str | None = None  # the signed webhook's key (base64 DER/PEM)
    mailgun_signing_key: SecretStr | None = None
    postmark_webhook_user: str | None = None
    postmark_webhook_password: SecretStr | None = None
    ses_topic_arns: str = ""  # the SNS topics whose notifications are accepted
    ses_trusted_cert_hosts: str = ""  # hosts trusted besides sns.<region>.amazonaws.com
    gate: GatePolicy = GatePolicy()
    # Campaigns (seed 004): a draft expires unless reviewed within the TTL; the approval policy
    # approves drafts of these tiers at once (comma-separated; none by default); an approval
    # that names no execution constraints gets these.
    campaign_draft_ttl_s: float = Field(default=7 * 24 * 3600, gt=0)
    auto_approve_tiers: str = ""
    campaign_max_sends_per_hour: int = Field(default=50, ge=1)
    campaign_max_sends_per_day: int = Field(default=200, ge=1)
    campaign_check_seconds: float = Field(default=5.0, gt=0)  # drafts to expire, windows to open
    # The auditor: how often active campaigns are checked for ended sequences, and how long
    # after the last sequence or send change (wall time) a campaign's record counts as settled.
    campaign_audit_check_seconds: float = Field(default=30.0, gt=0)
    campaign_audit_settle_seconds: float = Field(default=300.0, ge=0)
    health: HealthPolicy = HealthPolicy()  # campaign health thresholds (OUTREACH_HEALTH_*)
    # Operator API (streams/operator_api.py): `name:token,...`; none set refuses every call.
    operator_tokens: SecretStr | None = None
    # How long a campaign command waits for the hub's verdict before answering 202.
    operator_api_wait_seconds: float = Field(default=10.0, gt=0, le=60)
    # The CLI's side of it: the worker's API (default: this host's web port) and the token.
    api_url: str | None = None
    operator_token: SecretStr | None = None

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
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        nested: dict[str, type[BaseModel]] = {
            "gate": GatePolicy,
            "window": SendWindow,
            "caps": DailyCaps,
            "health": HealthPolicy,
        }
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(PREFIX + name.upper())
            if raw is not None and name not in nested:
                values[name] = (
                    [p.strip() for p in raw.split(",") if p.strip()] if (name == "stages") else raw
                )
        prefix = PREFIX
        try:
            for group, model in nested.items():
                prefix = f"{PREFIX}{group.upper()}_"
                fields: dict[str, object] = {}
                for name, info in model.model_fields.items():
                    raw = env.get(f"{PREFIX}{group.upper()}_{name.upper()}")
                    if raw is not None:
                        is_tuple = "tuple" in str(info.annotation)
                        fields[name] = raw.split(",") if is_tuple else raw
                values[group] = model.model_validate(fields)
            prefix = PREFIX
            return cls.model_validate(values)
        except ValidationError as exc:
            # One line, and never a secret's value (pydantic's text repeats every input).
            raise ConfigurationError(f"invalid settings: {one_line(exc, prefix, SECRETS)}") from exc


SECRETS = frozenset(n for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation))
