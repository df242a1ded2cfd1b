"""`outreach-hub`: run, administer and explain the hub. Bad input exits 2 with the reason."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from streams.contracts.exceptions import HubError, InvalidInput
from streams.contracts.records import describe
from streams.kernel.logging_setup import configure as configure_logging
from streams.kernel.settings import Settings
from streams.operator.campaign_audit import add_campaign_audit
from streams.operator.campaigns_cli import add_campaign_commands
from streams.operator.cli import add_operator_commands

EXIT_INVALID = 2


def _read_json(path: str | None, *, allow_yaml: bool = False) -> Any:
    try:
        data = sys.stdin.buffer.read() if path in (None, "-") else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if allow_yaml:
            try:
                return yaml.safe_load(data)
            except yaml.YAMLError:
                pass
        raise InvalidInput(f"input is not valid JSON: {exc}") from exc


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def cmd_gate_explain(args: argparse.Namespace, settings: Settings) -> int:
    from agents.gate.explain import explain

    _print_json(explain(_read_json(args.input), settings.gate).model_dump(mode="json"))
    return 0


def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from streams import schemas

    if args.check:
        stale = schemas.drift()
        for name in stale:
            print(f"schema out of date: schemas/{name}", file=sys.stderr)
        return 1 if stale else 0
    for name in schemas.generate():
        print(f"wrote schemas/{name}")
    return 0


def _bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap:
        raise InvalidInput("set OUTREACH_KAFKA_BOOTSTRAP (printed by `outreach-hub up`)")
    return settings.kafka_bootstrap


def cmd_topics_create(args: argparse.Namespace, settings: Settings) -> int:
    from streams.admin import create_topics
    from streams.contracts.topics import load_catalog

    catalog = load_catalog(partitions_override=settings.topic_partitions)
    for name, outcome in asyncio.run(
        create_topics(_bootstrap(settings), catalog, security=settings.kafka)
    ).items():
        print(f"{outcome:8} {name}")
    return 0


def cmd_topics_table(args: argparse.Namespace, settings: Settings) -> int:
    from streams.contracts.topics import load_catalog, markdown_table

    print(markdown_table(load_catalog()))
    return 0


def cmd_settings_table(args: argparse.Namespace, settings: Settings) -> int:
    from streams.kernel.settings_table import markdown_table

    print(markdown_table(Settings))
    return 0


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    from streams.admin import messages_from, produce, resolve_topic
    from streams.contracts.topics import load_catalog

    spec = resolve_topic(load_catalog(), args.topic)
    messages = messages_from(_read_json(args.file), spec, args.key)
    sent = asyncio.run(
        produce(_bootstrap(settings), spec.name, messages, security=settings.kafka)
    )
    print(f"published {sent} message(s) to {spec.name}")
    return 0


def cmd_db_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from streams.reach import connect_database
    from streams.sink.migrate import migrate

    if settings.database_url is None:
        raise InvalidInput("set OUTREACH_DATABASE_URL")

    async def run() -> list[str]:
        conn = await connect_database(settings.database_url.get_secret_value())  # type: ignore[union-attr]
        try:
            return await migrate(conn)
        finally:
            await conn.close()

    applied = asyncio.run(run())
    print("applied: " + (", ".join(applied) if applied else "nothing, up to date"))
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from streams.runtime import configured_infrastructure, run_worker

    return run_worker(settings, *configured_infrastructure(settings))


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from streams.runtime import configured_infrastructure, run_worker, up

    if settings.embedded:
        return up(settings)
    return run_worker(settings, *configured_infrastructure(settings))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from streams.demo import run_demo

    return run_demo(settings, cards=args.cards, companies=args.companies, timeout=args.timeout)


def cmd_sequencer_decide(args: argparse.Namespace, settings: Settings) -> int:
    from agents.sequencer.harness import run_case

    document = _read_json(args.input, allow_yaml=True)
    if isinstance(document, dict) and "inputs" in document:
        document = document["inputs"]  # a whole harness case is accepted too
    _print_json(run_case(document))
    return 0


def cmd_events_normalize(args: argparse.Namespace, settings: Settings) -> int:
    from agents.engagement.normalize.cli import run

    path = args.input
    try:
        body = sys.stdin.buffer.read() if path in (None, "-") else Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
    for event in run(body, args.provider):
        sys.stdout.buffer.write(orjson.dumps(event) + b"\n")
    sys.stdout.flush()
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("outreach-hub")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _add(sub: Any, name: str, text: str, description: str | None = None) -> argparse.ArgumentParser:
    """Every command carries a one-line help (in its parent's list) and a description."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=text, description=description or text[:1].upper() + text[1:] + "."
    )
    return parser


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="outreach-hub", description=__doc__)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                   help="print the installed version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add(sub, "up", "embedded broker + PostgreSQL + worker, in the foreground").set_defaults(
        func=cmd_up)
    _add(sub, "worker", "the worker against OUTREACH_KAFKA_BOOTSTRAP / _DATABASE_URL"
         ).set_defaults(func=cmd_worker)
    topics = _add(sub, "topics", "topics of topics.yaml").add_subparsers(
        dest="topics_command", required=True, metavar="SUBCOMMAND")
    _add(topics, "create", "create every topics.yaml topic (idempotent)").set_defaults(
        func=cmd_topics_create)
    _add(topics, "table", "the README's topics table, from topics.yaml").set_defaults(
        func=cmd_topics_table)
    settings = _add(sub, "settings", "the OUTREACH_* settings").add_subparsers(
        dest="settings_command", required=True, metavar="SUBCOMMAND")
    _add(settings, "table", "the README's configuration table, from the settings model"
         ).set_defaults(func=cmd_settings_table)
    produce = _add(sub, "produce", "publish a JSON file (an array is many messages)")
    produce.add_argument("topic", help="topic name or its topics.yaml alias")
    produce.add_argument("file", help="JSON file to publish (- for stdin)")
    produce.add_argument("--key", help="key of every message (default: the topic's key field)")
    produce.set_defaults(func=cmd_produce)
    db = _add(sub, "db", "the PostgreSQL schema").add_subparsers(
        dest="db_command", required=True, metavar="SUBCOMMAND")
    _add(db, "migrate", "apply the SQL migrations not applied yet").set_defaults(
        func=cmd_db_migrate)
    schemas = _add(sub, "schemas", "JSON schemas of the topics' models").add_subparsers(
        dest="schemas_command", required=True, metavar="SUBCOMMAND")
    generate = _add(schemas, "generate", "write schemas/*.json from the models")
    generate.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    generate.set_defaults(func=cmd_schemas)
    gate = _add(sub, "gate", "the BIT gate, offline").add_subparsers(
        dest="gate_command", required=True, metavar="SUBCOMMAND")
    explain = _add(gate, "explain", "the gate verdict of one lead card and score")
    explain.add_argument(
        "--input", help='JSON {"lead_card": ..., "bit_score": ...} (default stdin)'
    )
    explain.set_defaults(func=cmd_gate_explain)
    sequencer = _add(sub, "sequencer", "the sequencer, offline").add_subparsers(
        dest="sequencer_command", required=True, metavar="SUBCOMMAND")
    decide = _add(sequencer, "decide", "one sequencer decision (seed 002 inputs)")
    decide.add_argument("--input", help="harness inputs, JSON or YAML (default stdin)")
    decide.set_defaults(func=cmd_sequencer_decide)
    events = _add(sub, "events", "provider webhook bodies, offline").add_subparsers(
        dest="events_command", required=True, metavar="SUBCOMMAND")
    normalize = _add(events, "normalize", "one provider webhook body -> JSON lines")
    normalize.add_argument("--provider", help="sendgrid, mailgun, ses, postmark or hub")
    normalize.add_argument("--input", help="the webhook body (default stdin)")
    normalize.set_defaults(func=cmd_events_normalize)
    demo = _add(sub, "demo", "run the hub on the embedded pair with a sample batch")
    demo.add_argument("--cards", type=int, default=200, help="lead cards in the sample batch")
    demo.add_argument("--companies", type=int, default=12, help="companies they belong to")
    demo.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the flow")
    demo.set_defaults(func=cmd_demo)
    add_operator_commands(sub)
    add_campaign_commands(sub)
    add_campaign_audit(sub)  # under `campaigns`
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_format)
        return int(args.func(args, settings))
    except ValidationError as exc:
        print(f"error: invalid input: {describe(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
