"""OUTREACH_PROCESSING_GUARANTEE: passed to Faust; refused where it cannot hold."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams.app import create_app
from streams.contracts.exceptions import ConfigurationError
from streams.kernel.settings import Settings

EXTERNAL = {"OUTREACH_KAFKA_BOOTSTRAP": "kafka:9092",
            "OUTREACH_DATABASE_URL": "postgresql://u@h/db"}


def test_at_least_once_is_the_default_and_exactly_once_reaches_faust() -> None:
    assert Settings.from_env({}).processing_guarantee == "at_least_once"
    settings = Settings.from_env({**EXTERNAL, "OUTREACH_PROCESSING_GUARANTEE": "exactly_once",
                                  "OUTREACH_STAGES": "intake,gate,sequencer"})
    app = create_app(settings, "kafka:9092", "postgresql://u@h/db").app
    assert app.conf.processing_guarantee.value == "exactly_once"


@pytest.mark.parametrize(("env", "why"), [
    ({}, "the embedded broker has none"),
    (EXTERNAL, "cannot cover the sender"),
    ({**EXTERNAL, "OUTREACH_STAGES": "sender,sink"}, "cannot cover the sender"),
])
def test_exactly_once_is_refused_where_it_cannot_hold(env: dict[str, str], why: str) -> None:
    with pytest.raises(ConfigurationError, match=why):
        Settings.from_env({**env, "OUTREACH_PROCESSING_GUARANTEE": "exactly_once"})


def test_the_embedded_broker_refuses_it_in_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "streams.cli", "up"], capture_output=True,
                          env={"OUTREACH_PROCESSING_GUARANTEE": "exactly_once", "PATH": ""},
                          timeout=60, check=False)
    err = done.stderr.decode().strip()
    assert done.returncode != 0 and err.count("\n") == 0 and err.startswith("error: "), err
    assert "exactly_once" in err and "Traceback" not in err
