"""Every OUTREACH_* name the hand-written loader read keeps its meaning.

NAMES was collected from the loader itself before it moved to pydantic-settings: a mapping that
records every key looked up, then each name set to a sample value and the one attribute that
changed (scripts and deployments use these names: a rename is a silent fallback to a default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from streams.kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
REAL_PROVIDER: dict[str, str] = {
    'OUTREACH_BOOKING_URL': 'https://book.example.com/x',
    'OUTREACH_CALENDAR_SECRET': 'k' * 40,
    'OUTREACH_PUBLIC_BASE_URL': 'https://hub.example.com',
    'OUTREACH_UNSUBSCRIBE_SECRET': 'k' * 40,
}
SASL_SSL_CERT: dict[str, str] = {
    'OUTREACH_KAFKA_BOOTSTRAP': 'kafka:9092',
    'OUTREACH_KAFKA_SASL_MECHANISM': 'PLAIN',
    'OUTREACH_KAFKA_SASL_PASSWORD': 'p',
    'OUTREACH_KAFKA_SASL_USERNAME': 'u',
    'OUTREACH_KAFKA_SECURITY_PROTOCOL': 'SASL_SSL',
    'OUTREACH_KAFKA_SSL_CERTFILE': 'pyproject.toml',
}
SASL_SSL: dict[str, str] = {
    'OUTREACH_KAFKA_BOOTSTRAP': 'kafka:9092',
    'OUTREACH_KAFKA_SASL_MECHANISM': 'PLAIN',
    'OUTREACH_KAFKA_SASL_PASSWORD': 'p',
    'OUTREACH_KAFKA_SASL_USERNAME': 'u',
    'OUTREACH_KAFKA_SECURITY_PROTOCOL': 'SASL_SSL',
}
SSL_CERT: dict[str, str] = {
    'OUTREACH_KAFKA_BOOTSTRAP': 'kafka:9092',
    'OUTREACH_KAFKA_SECURITY_PROTOCOL': 'SSL',
    'OUTREACH_KAFKA_SSL_CERTFILE': 'pyproject.toml',
}

# (variable, raw value, other variables it needs to validate, attribute path, value read)
NAMES: list[tuple[str, str, dict[str, str], str, Any]] = [
    ('OUTREACH_ACCEPT_NEW_GROUP', 'true', {}, 'accept_new_group', True),
    ('OUTREACH_APP_ID', 'hub-x', {}, 'app_id', 'hub-x'),
    ('OUTREACH_BOOKING_URL', 'https://book.example.org/a', {},
     'booking_url', 'https://book.example.org/a'),
    ('OUTREACH_CALENDAR_SECRET', 'c' * 40, {}, 'calendar_secret', 'c' * 40),
    ('OUTREACH_CAPS_PER_DOMAIN', '7', {}, 'caps.per_domain', 7),
    ('OUTREACH_CAPS_PER_MAILBOX', '70', {}, 'caps.per_mailbox', 70),
    ('OUTREACH_CLOCK_ANCHOR', '1700000000.5', {}, 'clock_anchor', 1700000000.5),
    ('OUTREACH_CLOCK_SPEED', '60', {}, 'clock_speed', 60.0),
    ('OUTREACH_DATABASE_URL', 'postgresql://u:pw@db/x', {},
     'database_url', 'postgresql://u:pw@db/x'),
    ('OUTREACH_DATA_DIR', '/srv/hub', {}, 'data_dir', '/srv/hub'),
    ('OUTREACH_EMAIL_PROVIDER', 'sendgrid', REAL_PROVIDER, 'email_provider', 'sendgrid'),
    ('OUTREACH_ENGAGEMENT_PLACEMENT_WAIT_SECONDS', '120', {},
     'engagement_placement_wait_seconds', 120.0),
    ('OUTREACH_FROM_EMAIL', 'a@b.example', {}, 'from_email', 'a@b.example'),
    ('OUTREACH_FROM_NAME', 'Sales', {}, 'from_name', 'Sales'),
    ('OUTREACH_GATE_BURNING_FROM', '80', {}, 'gate.burning_from', 80.0),
    ('OUTREACH_GATE_EXPIRY_CHECK_SECONDS', '2.5', {}, 'gate_expiry_check_seconds', 2.5),
    ('OUTREACH_GATE_HOT_FROM', '55', {}, 'gate.hot_from', 55.0),
    ('OUTREACH_GATE_LIFECYCLE_ORDER', 'NEW,TARGETABLE,ENGAGED,WON', {},
     'gate.lifecycle_order', ['NEW', 'TARGETABLE', 'ENGAGED', 'WON']),
    ('OUTREACH_GATE_MAX_WAIT_SECONDS', '99', {}, 'gate.max_wait_seconds', 99.0),
    ('OUTREACH_GATE_MIN_LIFECYCLE', 'ENGAGED', {}, 'gate.min_lifecycle', 'ENGAGED'),
    ('OUTREACH_GATE_REMEMBERED_LEADS_PER_COMPANY', '12', {},
     'gate.remembered_leads_per_company', 12),
    ('OUTREACH_GATE_WARM_FROM', '20', {}, 'gate.warm_from', 20.0),
    ('OUTREACH_HEARTBEAT_INTERVAL_S', '2', {}, 'heartbeat_interval_s', 2.0),
    ('OUTREACH_KAFKA_BOOTSTRAP', 'k1:9092,k2:9092', {}, 'kafka_bootstrap', 'k1:9092,k2:9092'),
    ('OUTREACH_KAFKA_SASL_MECHANISM', 'scram_sha_512', SASL_SSL_CERT,
     'kafka.sasl_mechanism', 'SCRAM-SHA-512'),
    ('OUTREACH_KAFKA_SASL_PASSWORD', 'pw2', SASL_SSL_CERT, 'kafka.sasl_password', 'pw2'),
    ('OUTREACH_KAFKA_SASL_USERNAME', 'hub', SASL_SSL_CERT, 'kafka.sasl_username', 'hub'),
    ('OUTREACH_KAFKA_SECURITY_PROTOCOL', 'sasl_plaintext', SASL_SSL,
     'kafka.security_protocol', 'SASL_PLAINTEXT'),
    ('OUTREACH_KAFKA_SSL_CAFILE', 'README.md', SSL_CERT, 'kafka.ssl_cafile', 'README.md'),
    ('OUTREACH_KAFKA_SSL_CERTFILE', 'README.md', SSL_CERT, 'kafka.ssl_certfile', 'README.md'),
    ('OUTREACH_KAFKA_SSL_CHECK_HOSTNAME', 'false', SSL_CERT, 'kafka.ssl_check_hostname', False),
    ('OUTREACH_KAFKA_SSL_KEYFILE', 'README.md', SSL_CERT, 'kafka.ssl_keyfile', 'README.md'),
    ('OUTREACH_KAFKA_SSL_KEY_PASSWORD', 'kp', SSL_CERT, 'kafka.ssl_key_password', 'kp'),
    ('OUTREACH_LOG_FORMAT', 'json', {}, 'log_format', 'json'),
    ('OUTREACH_LOG_LEVEL', 'debug', {}, 'log_level', 'debug'),
    ('OUTREACH_MAILGUN_SIGNING_KEY', 'mg-key', {}, 'mailgun_signing_key', 'mg-key'),
    ('OUTREACH_POSTMARK_WEBHOOK_PASSWORD', 'pm-pw', {}, 'postmark_webhook_password', 'pm-pw'),
    ('OUTREACH_POSTMARK_WEBHOOK_USER', 'pm', {}, 'postmark_webhook_user', 'pm'),
    ('OUTREACH_PRODUCER_LINGER_MS', '5', {}, 'producer_linger_ms', 5),
    ('OUTREACH_PUBLIC_BASE_URL', 'https://hub.example.org', {},
     'public_base_url', 'https://hub.example.org'),
    ('OUTREACH_REBALANCE_TIMEOUT_S', '30', {}, 'rebalance_timeout_s', 30.0),
    ('OUTREACH_SANDBOX_ENGAGEMENT', 'false', {}, 'sandbox_engagement', False),
    ('OUTREACH_SANDBOX_SEED', '42', {}, 'sandbox_seed', 42),
    ('OUTREACH_SENDGRID_API_KEY', 'SG.x', {}, 'sendgrid_api_key', 'SG.x'),
    ('OUTREACH_SENDGRID_BASE_URL', 'http://127.0.0.1:1', {},
     'sendgrid_base_url', 'http://127.0.0.1:1'),
    ('OUTREACH_SENDGRID_WEBHOOK_PUBLIC_KEY', 'MFkw', {}, 'sendgrid_webhook_public_key', 'MFkw'),
    ('OUTREACH_SEND_MAX_ATTEMPTS', '3', {}, 'send_max_attempts', 3),
    ('OUTREACH_SEQUENCER_BATCH_SIZE', '50', {}, 'sequencer_batch_size', 50),
    ('OUTREACH_SEQUENCER_TICK_SECONDS', '0.25', {}, 'sequencer_tick_seconds', 0.25),
    ('OUTREACH_SEQUENCES_FILE', 'seq.yaml', {}, 'sequences_file', 'seq.yaml'),
    ('OUTREACH_SESSION_TIMEOUT_S', '45', {}, 'session_timeout_s', 45.0),
    ('OUTREACH_SES_TOPIC_ARNS', 'arn:a,arn:b', {}, 'ses_topic_arns', 'arn:a,arn:b'),
    ('OUTREACH_SES_TRUSTED_CERT_HOSTS', 'sns.example.com', {},
     'ses_trusted_cert_hosts', 'sns.example.com'),
    ('OUTREACH_SHUTDOWN_TIMEOUT_S', '10', {}, 'shutdown_timeout_s', 10.0),
    ('OUTREACH_SINK_BATCH_SECONDS', '0.5', {}, 'sink_batch_seconds', 0.5),
    ('OUTREACH_SINK_BATCH_SIZE', '100', {}, 'sink_batch_size', 100),
    ('OUTREACH_SMTP_HOST', 'mail.example.com', {}, 'smtp_host', 'mail.example.com'),
    ('OUTREACH_SMTP_PASSWORD', 'smtp-pw', {}, 'smtp_password', 'smtp-pw'),
    ('OUTREACH_SMTP_PORT', '587', {}, 'smtp_port', 587),
    ('OUTREACH_SMTP_START_TLS', 'true', {}, 'smtp_start_tls', True),
    ('OUTREACH_SMTP_USERNAME', 'smtp-user', {}, 'smtp_username', 'smtp-user'),
    ('OUTREACH_STAGES', ' sender, sink,', {}, 'stages', ['sender', 'sink']),
    ('OUTREACH_TOPIC_PARTITIONS', '3', {}, 'topic_partitions', 3),
    ('OUTREACH_UNSUBSCRIBE_SECRET', 'u' * 40, {}, 'unsubscribe_secret', 'u' * 40),
    ('OUTREACH_WEBHOOK_MAX_AGE_SECONDS', '60', {}, 'webhook_max_age_seconds', 60.0),
    ('OUTREACH_WEB_HOST', '0.0.0.0', {}, 'web_host', '0.0.0.0'),
    ('OUTREACH_WEB_PORT', '8080', {}, 'web_port', 8080),
    ('OUTREACH_WINDOW_DEFAULT_TIMEZONE', 'Europe/Paris', {},
     'window.default_timezone', 'Europe/Paris'),
    ('OUTREACH_WINDOW_END_HOUR', '18', {}, 'window.end_hour', 18),
    ('OUTREACH_WINDOW_START_HOUR', '8', {}, 'window.start_hour', 8),
    ('OUTREACH_WINDOW_WEEKDAYS', '0,2,4', {}, 'window.weekdays', [0, 2, 4]),
]


def _read(settings: Settings, path: str) -> Any:
    value: Any = settings
    for part in path.split("."):
        value = getattr(value, part)
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    if isinstance(value, Path):
        value = str(value)
    return list(value) if isinstance(value, tuple) else value


@pytest.fixture(autouse=True)
def _in_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the TLS samples name files of the checkout


@pytest.mark.parametrize(("name", "raw", "context", "path", "value"), NAMES,
                         ids=[n[0] for n in NAMES])
def test_every_name_of_the_old_loader_is_read_with_the_same_meaning(
        name: str, raw: str, context: dict[str, str], path: str, value: Any) -> None:
    baseline = Settings.from_env(context)
    settings = Settings.from_env({**context, name: raw})
    assert _read(settings, path) == value
    assert _read(baseline, path) != value  # the sample is not the default: the name did it


def test_the_names_are_read_together_too() -> None:
    """Groups share prefixes with plain settings (OUTREACH_GATE_EXPIRY_CHECK_SECONDS is not in
    the gate group, OUTREACH_KAFKA_BOOTSTRAP not in the kafka group): set them all at once."""
    plain = [row for row in NAMES if not row[2]]
    settings = Settings.from_env({name: raw for name, raw, _, _, _ in plain})
    for name, _, _, path, value in plain:
        assert _read(settings, path) == value, name
