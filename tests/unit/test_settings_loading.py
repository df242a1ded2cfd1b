"""Where settings come from (environment over the .env file) and what happens to an OUTREACH_*
name that is no setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.contracts.exceptions import ConfigurationError
from streams.kernel.settings import Settings


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """os.environ without OUTREACH_* and a working directory of its own."""
    for name in list(os.environ):
        if name.upper().startswith("OUTREACH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---- a misspelled variable ---------------------------------------------------------------------

@pytest.mark.parametrize(("typo", "meant"), [
    ("OUTREACH_WINDOW_START_HOURS", "OUTREACH_WINDOW_START_HOUR"),
    ("OUTREACH_CAPS_PER_MAILBOXES", "OUTREACH_CAPS_PER_MAILBOX"),
    ("OUTREACH_EMAIL_PROVIDR", "OUTREACH_EMAIL_PROVIDER"),
    ("OUTREACH_SMTP_PASWORD", "OUTREACH_SMTP_PASSWORD"),
    ("OUTREACH_KAFKA_SASL_USER", "OUTREACH_KAFKA_SASL_USERNAME"),
])
def test_a_misspelled_variable_is_refused_naming_the_closest_setting(typo: str, meant: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({typo: "hunter2-value"})
    message = str(refused.value)
    assert f"{typo} (did you mean {meant}?)" in message
    assert "OUTREACH_ALLOW_UNKNOWN_SETTINGS=true" in message
    assert "hunter2-value" not in message and "\n" not in message


def test_every_unknown_name_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({"OUTREACH_ZZZ": "1", "OUTREACH_GATE": "{}", "OUTREACH_APP_ID": "x"})
    message = str(refused.value)
    assert "OUTREACH_ZZZ" in message and "OUTREACH_GATE " in message
    assert "OUTREACH_APP_ID" not in message


def test_an_operator_can_start_anyway_and_the_worker_is_told() -> None:
    settings = Settings.from_env({"OUTREACH_WINDOW_START_HOURS": "8", "OUTREACH_WEB_PORT": "7000",
                                  "OUTREACH_ALLOW_UNKNOWN_SETTINGS": "true"})
    assert settings.web_port == 7000 and settings.window.start_hour == 9
    assert any("OUTREACH_WINDOW_START_HOURS" in w for w in settings.warnings())


@pytest.mark.parametrize("name", ["OUTREACH_TEST_KAFKA_BOOTSTRAP", "OUTREACH_TEST_DATABASE_URL",
                                  "OUTREACH_OPERATOR_TOKENS", "OUTREACH_ENV_FILE"])
def test_names_other_programs_read_are_not_reported(name: str) -> None:
    assert Settings.from_env({name: ""}).warnings() == []


def test_the_worker_command_stops_on_a_typo_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OUTREACH_")}
    env |= {"OUTREACH_KAFKA_BOOTSTRAP": "127.0.0.1:9", "OUTREACH_DATABASE_URL": "postgresql://u@h/d",
            "OUTREACH_SENDGRID_APIKEY": "SG.secret-value"}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "worker"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown setting "), done.stderr
    assert "OUTREACH_SENDGRID_APIKEY (did you mean OUTREACH_SENDGRID_API_KEY?)" in lines[0]
    assert "SG.secret-value" not in lines[0]


# ---- the .env file -----------------------------------------------------------------------------

def test_the_env_file_is_read_and_the_environment_wins(clean_environ: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_environ / ".env").write_text(
        "# a comment\n"
        "OUTREACH_APP_ID=from-file\n"
        "OUTREACH_WEB_PORT=7001\n"
        "OUTREACH_GATE_WARM_FROM=10\n"
        "OUTREACH_STAGES=sender,sink\n"
        "export OUTREACH_SMTP_PASSWORD='pa$$word'\n"
        "OTHER_TOOL=ignored\n")
    monkeypatch.setenv("OUTREACH_WEB_PORT", "7002")
    monkeypatch.setenv("OUTREACH_GATE_HOT_FROM", "60")
    settings = Settings.from_env()
    assert settings.app_id == "from-file"
    assert settings.web_port == 7002  # the environment wins
    assert (settings.gate.warm_from, settings.gate.hot_from) == (10, 60)  # a group from both
    assert settings.stages == ("sender", "sink")
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "pa$$word"  # taken literally


def test_a_typo_in_the_env_file_names_the_file(clean_environ: Path) -> None:
    (clean_environ / ".env").write_text("OUTREACH_FROM_EMAL=sales@example.com\n")
    with pytest.raises(ConfigurationError, match=r"OUTREACH_FROM_EMAL \(in \.env\) \(did you mean "
                                                 r"OUTREACH_FROM_EMAIL\?\)"):
        Settings.from_env()


def test_outreach_env_file_names_another_file_or_none(clean_environ: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_environ / ".env").write_text("OUTREACH_APP_ID=default-file\n")
    (clean_environ / "prod.env").write_text("OUTREACH_APP_ID=prod-file\n")
    monkeypatch.setenv("OUTREACH_ENV_FILE", "prod.env")
    assert Settings.from_env().app_id == "prod-file"
    monkeypatch.setenv("OUTREACH_ENV_FILE", "")
    assert Settings.from_env().app_id == "outreach-hub"
    monkeypatch.setenv("OUTREACH_ENV_FILE", "missing.env")
    with pytest.raises(ConfigurationError, match=r"OUTREACH_ENV_FILE: no such file: missing\.env"):
        Settings.from_env()


def test_an_explicit_mapping_is_the_whole_configuration(clean_environ: Path) -> None:
    """Tests pass their own mapping: a developer's .env must not leak into them."""
    (clean_environ / ".env").write_text("OUTREACH_APP_ID=from-file\n")
    assert Settings.from_env({}).app_id == "outreach-hub"
    assert Settings.from_env({"OUTREACH_ENV_FILE": ".env"}).app_id == "from-file"


def test_settings_built_in_code_read_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_WEB_PORT", "7003")
    assert Settings(app_id="x").web_port == 6066
