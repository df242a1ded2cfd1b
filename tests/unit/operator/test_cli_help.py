"""Every command and argument of `outreach-hub` explains itself; --version answers."""

from __future__ import annotations

import argparse

import pytest

from streams.cli import main, parser


def _walk(p: argparse.ArgumentParser, path: str) -> list[str]:
    missing: list[str] = []
    if not p.description:
        missing.append(f"{path}: no description")
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                if not helps.get(name):
                    missing.append(f"{path} {name}: no help")
                missing += _walk(child, f"{path} {name}")
        elif not action.help:
            missing.append(f"{path}: argument {action.dest} has no help")
    return missing


def test_every_command_and_argument_has_help() -> None:
    assert _walk(parser(), "outreach-hub") == []


def test_the_walk_would_catch_a_command_without_help() -> None:
    p = parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    sub.add_parser("bare").add_argument("--x")
    assert {"outreach-hub bare: no help", "outreach-hub bare: no description",
            "outreach-hub bare: argument x has no help"} <= set(_walk(p, "outreach-hub"))


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out.split()
    assert out[0] == "outreach-hub" and out[1][0].isdigit()


def test_a_bad_state_key_is_one_error_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/x")
    assert main(["state", "show", "not-a-key"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_an_unreachable_database_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_DATABASE_URL", "postgresql://u:s3cret@127.0.0.1:1/x")
    assert main(["dlq", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach PostgreSQL") and "s3cret" not in err
    assert err.count("\n") == 1
