"""The operator commands of `outreach-hub`: `dlq list | show | replay` and `state show`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.contracts.exceptions import InvalidInput
from streams.kernel.settings import Settings

DLQ_HELP = """Dead letters: records a stage could not process, read from PostgreSQL
(outreach.outreach_errors, written by the sink). `show` prints the offending record, which may
hold personal data (names, company details); email addresses are masked unless --reveal."""


def _database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise InvalidInput("set OUTREACH_DATABASE_URL")
    return settings.database_url.get_secret_value()


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def cmd_dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    from streams.operator.db import connection
    from streams.operator.dlq import list_letters
    from streams.operator.dlq_view import list_table, parse_since, summary_json

    since = None if args.since is None else parse_since(args.since, datetime.now(UTC))
    if args.limit < 1:
        raise InvalidInput("--limit must be at least 1")

    async def run() -> list[Any]:
        async with connection(_database_url(settings)) as conn:
            return await list_letters(conn, since, args.code, args.limit)

    letters = asyncio.run(run())
    if args.json:
        _print_json([summary_json(d) for d in letters])
    else:
        print(list_table(letters))
    return 0


def cmd_dlq_show(args: argparse.Namespace, settings: Settings) -> int:
    from streams.operator.db import connection
    from streams.operator.dlq import find
    from streams.operator.dlq_view import show_text, whole_json

    async def run() -> Any:
        async with connection(_database_url(settings)) as conn:
            return await find(conn, args.id)

    letter = asyncio.run(run())
    if args.json:
        _print_json(whole_json(letter, reveal=args.reveal))
    else:
        print(show_text(letter, reveal=args.reveal))
    return 0


def cmd_dlq_replay(args: argparse.Namespace, settings: Settings) -> int:
    from streams.contracts.topics import load_catalog
    from streams.operator.db import OperatorError, connection
    from streams.operator.dlq import find, replay
    from streams.operator.dlq_view import replay_refusal

    if not settings.kafka_bootstrap:
        raise InvalidInput("set OUTREACH_KAFKA_BOOTSTRAP")
    bootstrap = settings.kafka_bootstrap
    catalog = load_catalog(partitions_override=settings.topic_partitions)

    async def run() -> str:
        async with connection(_database_url(settings)) as conn:
            letter = await find(conn, args.id)
            refusal = replay_refusal(letter)
            if refusal:
                raise OperatorError(refusal)
            if not args.yes:
                if not sys.stdin.isatty():
                    raise InvalidInput("replaying needs --yes when not run from a terminal")
                answer = input(
                    f"replay {letter.id} ({letter.code}, {letter.stage}) onto "
                    f"{letter.source_topic}? every group reading that topic gets it [y/N] "
                )
                if answer.strip().lower() not in ("y", "yes"):
                    raise InvalidInput("not replayed")
            _, where = await replay(conn, bootstrap, catalog, letter.id, _operator(),
                                       security=settings.kafka)
            return f"replayed {letter.id} to {where}"

    print(asyncio.run(run()))
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def cmd_state_show(args: argparse.Namespace, settings: Settings) -> int:
    from streams.operator.db import connection
    from streams.operator.state import read_durable, read_live
    from streams.operator.state_view import contact_key_of, summary_text

    key = contact_key_of(args.key)
    app_id = args.app_id or settings.app_id

    async def run() -> str:
        async with connection(_database_url(settings)) as conn:
            durable = await read_durable(conn, key)
        live, note = None, "not read: OUTREACH_KAFKA_BOOTSTRAP is not set"
        if settings.kafka_bootstrap and not args.no_live:
            live, note = await read_live(settings.kafka_bootstrap, app_id, key,
                                         security=settings.kafka)
        elif args.no_live:
            note = "not read (--no-live)"
        return summary_text(key, durable, live, note)

    print(asyncio.run(run()))
    return 0


def _add(sub: Any, name: str, text: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=text, description=description)
    return parser


def add_operator_commands(sub: Any) -> None:
    dlq = _add(sub, "dlq", "dead letters: list, show, replay", DLQ_HELP).add_subparsers(
        dest="dlq_command", required=True, metavar="SUBCOMMAND")
    ls = _add(dlq, "list", "dead letters, newest first, without their records",
              "A table of dead letters (id, time, stage, code, replay state, source "
              "topic/partition/offset, reason), newest first. Records are never shown here. "
              "By default only dead-letter codes (DLQ-*, SEQ-ESCALATED); --code selects any.")
    ls.add_argument("--since", help="only newer ones: a duration (30m, 2h, 7d) or an ISO date")
    ls.add_argument("--code", help="only this code (DLQ-INVALID-EVENT, OUT-003, ...)")
    ls.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    ls.add_argument("--json", action="store_true", help="a JSON array instead of the table")
    ls.set_defaults(func=cmd_dlq_list)
    show = _add(dlq, "show", "one dead letter whole, with its record",
                "One dead letter whole, with the offending record. The record may hold "
                "personal data: email addresses are masked unless --reveal; names and other "
                "fields are shown as they arrived.")
    show.add_argument("id", help="the dead letter's id (or a unique prefix, 8+ characters)")
    show.add_argument("--reveal", action="store_true",
                      help="show email addresses unmasked (personal data: mind where it goes)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(func=cmd_dlq_show)
    rp = _add(dlq, "replay", "re-inject a dead letter's record into its source topic, once",
              "Produce the dead letter's record, with its original key, onto its source topic "
              "after the cause was fixed. Recorded in outreach.dead_letter_replays: a dead "
              "letter is replayed once; a second replay is refused. Every consumer group of "
              "the topic receives it again (the hub's stages dedupe on event ids).")
    rp.add_argument("id", help="the dead letter's id (or a unique prefix, 8+ characters)")
    rp.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rp.set_defaults(func=cmd_dlq_replay)
    state = _add(sub, "state", "a person's sequence state",
                 "A person's sequence state, read from the hub's records.").add_subparsers(
        dest="state_command", required=True, metavar="SUBCOMMAND")
    st = _add(state, "show", "one person's sequences, touches, next due, stops, suppression",
              "One person's sequence state: the live value in the sequencer's changelog "
              "(active sequence, touches done, next due, cooling-off, suppression) when "
              "OUTREACH_KAFKA_BOOTSTRAP is set, and the durable record in PostgreSQL "
              "(sequences, events, sends, suppression list). The address is never printed.")
    st.add_argument("key", help="a contact_key, or an email address (hashed to its key)")
    st.add_argument("--app-id", help="the sequencer's app id (default OUTREACH_APP_ID; a "
                    "stage pool's is suffixed, e.g. outreach-hub-sequencer)")
    st.add_argument("--no-live", action="store_true",
                    help="do not read the changelog topic (PostgreSQL only)")
    st.set_defaults(func=cmd_state_show)
