"""Settings from the environment: stage selection and the errors an operator sees."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from streams.app import create_app
from streams.contracts.exceptions import ConfigurationError
from streams.kernel.settings import STAGES, Settings


def test_a_worker_runs_every_stage_unless_told_otherwise() -> None:
    assert Settings.from_env({}).stages == STAGES


@pytest.mark.parametrize(("raw", "stages"), [
    ("sequencer", ("sequencer",)),
    ("sender, sink", ("sender", "sink")),
    ("intake,gate,", ("intake", "gate")),
])
def test_outreach_stages_picks_the_stages(raw: str, stages: tuple[str, ...]) -> None:
    assert Settings.from_env({"OUTREACH_STAGES": raw}).stages == stages


@pytest.mark.parametrize(("raw", "message"), [
    ("sequenser", "sequenser"),  # a typo names the bad value
    ("", "names no stage"),
    (" , ", "names no stage"),
    ("sequencer,sink,sequencer", "sequencer twice"),
])
def test_a_bad_stage_list_is_a_clear_configuration_error(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env({"OUTREACH_STAGES": raw})


def test_only_the_chosen_stages_register_agents() -> None:
    hub = create_app(Settings(stages=("sequencer",)), "127.0.0.1:9", "postgresql://u@h/db")
    names = {agent.name.rsplit(".", 1)[-1] for agent in hub.app.agents.values()}
    assert names == {"sequencer", "sequencer-enrollments"}


@pytest.mark.parametrize(("stages", "group"), [
    (STAGES, "outreach-hub"),
    (tuple(reversed(STAGES)), "outreach-hub"),
    (("sequencer",), "outreach-hub-sequencer"),
    (("sink", "sender"), "outreach-hub-sender-sink"),  # order does not make a new group
])
def test_workers_with_different_stage_sets_join_different_groups(
        stages: tuple[str, ...], group: str) -> None:
    settings = Settings.from_env({"OUTREACH_STAGES": ",".join(stages)})
    assert settings.group_id == group
    assert create_app(settings, "127.0.0.1:9", "postgresql://u@h/db").app.conf.id == group


# ---- a real email provider needs real secrets and a public base URL ----------------------------

STRONG = "s3cret-" + "k" * 25  # 32 bytes
REAL: dict[str, str] = {
    "OUTREACH_UNSUBSCRIBE_SECRET": STRONG, "OUTREACH_CALENDAR_SECRET": STRONG[::-1],
    "OUTREACH_PUBLIC_BASE_URL": "https://hub.example.com/",
    "OUTREACH_BOOKING_URL": "https://book.example.com/meet?team=sales",
}


@pytest.mark.parametrize(("booking", "why"), [
    (None, "OUTREACH_BOOKING_URL must be set"),
    ("http://127.0.0.1:8080/book", "OUTREACH_BOOKING_URL is a loopback address"),
    ("https://localhost/book", "OUTREACH_BOOKING_URL names"),
])
def test_a_real_provider_needs_a_public_booking_page(booking: str | None, why: str) -> None:
    env = {**REAL, "OUTREACH_EMAIL_PROVIDER": "smtp"}
    env.pop("OUTREACH_BOOKING_URL")
    if booking is not None:
        env["OUTREACH_BOOKING_URL"] = booking
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    assert why in str(refused.value)


@pytest.mark.parametrize("provider", ["smtp", "sendgrid"])
def test_a_real_provider_starts_with_strong_secrets_and_a_public_url(provider: str) -> None:
    settings = Settings.from_env({**REAL, "OUTREACH_EMAIL_PROVIDER": provider})
    assert settings.email_provider == provider


def test_the_sandbox_keeps_its_embedded_defaults() -> None:
    assert Settings.from_env({}).public_base_url.startswith("http://127.0.0.1")


@pytest.mark.parametrize("variable", ["OUTREACH_UNSUBSCRIBE_SECRET", "OUTREACH_CALENDAR_SECRET"])
@pytest.mark.parametrize(("secret", "why"), [
    ("abcde", "must be at least 32 bytes"),  # the 5-byte secret SendGrid once started with
    ("#", "must be at least 32 bytes"),
    ("k" * 31, "must be at least 32 bytes"),
    ("é" * 15, "must be at least 32 bytes"),  # 15 characters, 30 bytes
    ("embedded-default-unsubscribe-secret", "must be set"),  # 35 bytes, but published
    (None, "must be set"),  # unset: the embedded default
])
@pytest.mark.parametrize("provider", ["smtp", "sendgrid"])
def test_a_weak_secret_is_refused_naming_the_variable_not_the_value(
        provider: str, variable: str, secret: str | None, why: str) -> None:
    env = {**REAL, "OUTREACH_EMAIL_PROVIDER": provider}
    if secret is None:
        del env[variable]
    else:
        env[variable] = secret
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert f"{variable} {why}" in message
    assert "\n" not in message
    if secret is not None:
        assert secret not in message
    assert STRONG not in message and STRONG[::-1] not in message


@pytest.mark.parametrize("secret", ["k" * 32, "é" * 16, STRONG + "-and-more"])
def test_secrets_of_32_bytes_or_more_are_accepted(secret: str) -> None:
    env = {**REAL, "OUTREACH_EMAIL_PROVIDER": "sendgrid", "OUTREACH_CALENDAR_SECRET": secret}
    assert Settings.from_env(env).calendar_secret.get_secret_value() == secret


BAD_URLS = [
    ("https://[::1]/", "loopback"),
    ("http://127.0.0.1:6066", "loopback"),
    ("http://127.0.0.2", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://2130706433/", "loopback"),  # 127.0.0.1 as browsers read it
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://10.0.0.5", "private"),
    ("http://192.168.1.20/", "private"),
    ("https://172.16.0.1/", "private"),
    ("http://[fd00::1]/", "private"),
    ("http://169.254.169.254/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://100.64.0.1/", "non-public"),
    ("http://localhost:8080", "local network"),
    ("http://LocalHost/", "local network"),
    ("https://hub.localhost/", "local network"),
    ("https://hub.local/", "local network"),
    ("http://hub/", "public host"),  # an intranet name
    ("hub.example.com", "http:// or https://"),
    ("ftp://hub.example.com/", "http:// or https://"),
    ("https://", "no host"),
    ("https:///unsubscribe", "no host"),
    ("https://hub.example.com:99999/", "not a valid URL"),
    ("https://hub.example.com/ x", "without spaces"),
    ("", "without spaces"),
    ("https://user:pw@hub.example.com/", "credentials"),
    ("https://hub.example.com/?a=1", "query"),
]


@pytest.mark.parametrize(("url", "why"), BAD_URLS)
def test_a_base_url_recipients_cannot_reach_is_refused(url: str, why: str) -> None:
    env = {**REAL, "OUTREACH_EMAIL_PROVIDER": "sendgrid", "OUTREACH_PUBLIC_BASE_URL": url}
    with pytest.raises(ConfigurationError, match=f"OUTREACH_PUBLIC_BASE_URL [^;]*{why}") as info:
        Settings.from_env(env)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("url", [
    "https://hub.example.com/",
    "https://hub.example.com",
    "http://hub.example.com:8080/outreach",
    "https://HUB.Example.COM./",
    "https://xn--bcher-kva.example/",
    "http://8.8.8.8/",
    "https://[2001:4860:4860::8888]/",
])
def test_a_public_base_url_is_accepted(url: str) -> None:
    env = {**REAL, "OUTREACH_EMAIL_PROVIDER": "smtp", "OUTREACH_PUBLIC_BASE_URL": url}
    assert Settings.from_env(env).public_base_url == url


def test_other_settings_errors_are_one_line_and_keep_secrets_out() -> None:
    env = {"OUTREACH_WEB_PORT": "99999", "OUTREACH_DATABASE_URL": "postgresql://u:hunter2@h/d",
           "OUTREACH_STAGES": "sequenser"}
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert "OUTREACH_WEB_PORT" in message and "OUTREACH_STAGES" in message
    assert "\n" not in message and "hunter2" not in message


def test_the_worker_command_refuses_weak_secrets_with_one_error_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    env |= {"OUTREACH_EMAIL_PROVIDER": "sendgrid", "OUTREACH_UNSUBSCRIBE_SECRET": "abcde",
            "OUTREACH_CALENDAR_SECRET": "z", "OUTREACH_PUBLIC_BASE_URL": "https://[::1]/",
            "OUTREACH_SENDGRID_API_KEY": "SG.not-a-real-key",
            "OUTREACH_KAFKA_BOOTSTRAP": "127.0.0.1:9", "OUTREACH_DATABASE_URL": "postgresql://u@h/d"}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for variable in ("OUTREACH_UNSUBSCRIBE_SECRET", "OUTREACH_CALENDAR_SECRET",
                     "OUTREACH_PUBLIC_BASE_URL"):
        assert variable in lines[0]
    assert "abcde" not in lines[0] and "SG.not-a-real-key" not in lines[0]
