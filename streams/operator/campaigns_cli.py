"""`outreach-hub campaigns list | show | approve | reject | ask | pause | resume | cancel`.

Every subcommand calls the worker's operator API (`OUTREACH_API_URL`, default this host's web
port) with the token in `OUTREACH_OPERATOR_TOKEN`; nothing here touches the broker or the
database. Exit codes: 0 the hub accepted (or the read worked); 1 the hub refused the command
(409, or the token is another operator's: 403); 2 the call could not be made (no token,
401, API unreachable, bad input); 3 the command is on the broker but the hub gave no verdict
in time (check with `campaigns show`).
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from streams.contracts.exceptions import HubError, InvalidInput
from streams.kernel.settings import Settings

EXIT_REFUSED = 1
EXIT_PENDING = 3
PAGE = 500
VERB_HELP = {
    "approve": "approve a draft: it becomes active under the terms given",
    "reject": "reject a draft: it ends",
    "ask": "ask a question about a draft: it stays a draft",
    "pause": "pause an active campaign: its people wait, untouched",
    "resume": "resume a campaign an operator paused (not a health pause: approve again)",
    "cancel": "cancel a campaign: its sequences end",
}


class ApiError(HubError):
    """The API could not be called, or refused the caller (exit 2, one line)."""


def _where(url: str) -> str:
    """scheme://host:port only: a URL may carry credentials."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def call(settings: Settings, method: str, path: str, body: dict[str, Any] | None = None
         ) -> tuple[int, dict[str, Any]]:
    if settings.operator_token is None:
        raise InvalidInput("set OUTREACH_OPERATOR_TOKEN (your operator token)")
    if urlsplit(settings.operator_api_url).username is not None:
        raise InvalidInput("OUTREACH_API_URL must not carry credentials (the token goes in "
                           "OUTREACH_OPERATOR_TOKEN)")
    url = settings.operator_api_url + path
    request = urllib.request.Request(
        url, method=method, data=None if body is None else orjson.dumps(body),
        headers={"Authorization": f"Bearer {settings.operator_token.get_secret_value()}",
                 "Content-Type": "application/json", "Accept": "application/json"})
    timeout = settings.operator_api_wait_seconds + 20  # the API itself waits for the verdict
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ApiError(f"cannot reach the hub's API at {_where(url)} "
                       f"({type(reason).__name__}); set OUTREACH_API_URL") from None
    try:
        answer = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if status >= 400 and status not in (403, 409):  # 403 / 409: the hub refused the command
        raise ApiError(f"the hub's API answered {status}: "
                       f"{answer.get('error') or answer.get('reason') or 'no reason given'}")
    return status, answer


def _print_json(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from streams.operator.campaigns_view import list_table, summary_json

    if args.limit < 1:
        raise InvalidInput("--limit must be at least 1")
    rows: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None and len(rows) < args.limit:
        query = {k: v for k, v in (("state", args.state), ("company", args.company),
                                   ("tier", args.tier)) if v}
        query |= {"limit": str(min(PAGE, args.limit - len(rows))), "offset": str(offset)}
        _, page = call(settings, "GET", f"/api/campaigns?{urlencode(query)}")
        rows += page.get("campaigns") or []
        offset = page.get("next_offset")
    if args.json:
        _print_json([summary_json(c) for c in rows])
    else:
        print(list_table(rows))
    return 0


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from urllib.parse import quote

    from streams.operator.campaigns_view import show_text

    _, found = call(settings, "GET", f"/api/campaigns/{quote(args.campaign_id, safe='')}")
    if args.json:
        _print_json(found)
    else:
        print(show_text(found))
    return 0


def _approval(args: argparse.Namespace) -> dict[str, Any] | None:
    terms = {"window_start": args.window_start, "window_end": args.window_end,
             "max_sends_per_hour": args.max_per_hour, "max_sends_per_day": args.max_per_day,
             "overrides_health_verdict_id": args.overrides_health_verdict}
    terms = {k: v for k, v in terms.items() if v is not None}
    return terms or None


def cmd_verb(args: argparse.Namespace, settings: Settings) -> int:
    from urllib.parse import quote

    from streams.operator.campaigns_view import verdict_line

    verb = args.campaigns_command
    body: dict[str, Any] = {"operator": args.operator, "command_id": f"cli-{uuid.uuid4().hex}"}
    if args.note:
        body["note"] = args.note
    if getattr(args, "reason", None):
        body["reason"] = args.reason
    if verb == "approve":
        if args.draft_version is not None:
            body["draft_version"] = args.draft_version
        if (terms := _approval(args)) is not None:
            body["approval"] = terms
    status, answer = call(settings, "POST",
                          f"/api/campaigns/{quote(args.campaign_id, safe='')}/{verb}", body)
    if status == 200:
        print(verdict_line(verb, answer))
        return 0
    if status == 202:
        print(f"error: the hub gave no verdict on {verb} {args.campaign_id} in time (command "
              f"{answer.get('command_id')} is on the broker); check `outreach-hub campaigns "
              f"show {args.campaign_id}`", file=sys.stderr)
        return EXIT_PENDING
    reason = answer.get("reason") or answer.get("error") or "no reason given"
    print(f"error: {verb} {args.campaign_id} refused: {reason}", file=sys.stderr)
    return EXIT_REFUSED


def _add(sub: Any, name: str, text: str, description: str | None = None
         ) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=text, description=description or text[:1].upper() + text[1:] + ".")
    return parser


def add_campaign_commands(sub: Any) -> Any:
    """Adds `campaigns ...`; returns its subparsers, where other campaign tools (an audit
    command) add themselves."""
    campaigns = _add(sub, "campaigns", "campaigns: list, show, approve, reject, ask, pause, "
                     "resume, cancel", __doc__).add_subparsers(
        dest="campaigns_command", required=True, metavar="SUBCOMMAND")
    ls = _add(campaigns, "list", "campaigns, most recently changed first")
    ls.add_argument("--state", help="only campaigns in this state (draft, active, ...)")
    ls.add_argument("--company", help="only this company_sov_id's campaigns")
    ls.add_argument("--tier", help="only this tier (SUSPECT, WARM, HOT, BURNING)")
    ls.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    ls.add_argument("--json", action="store_true", help="a JSON array instead of the table")
    ls.set_defaults(func=cmd_list)
    show = _add(campaigns, "show", "one campaign: its state, history, health and audit")
    show.add_argument("campaign_id", help="the campaign's id (campaigns list shows them)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(func=cmd_show)
    for verb, text in VERB_HELP.items():
        p = _add(campaigns, verb, text)
        p.add_argument("campaign_id", help="the campaign's id (campaigns list shows them)")
        p.add_argument("--operator", required=True,
                       help="your operator name; must be the name OUTREACH_OPERATOR_TOKEN "
                            "belongs to (the token decides who acts)")
        p.add_argument("--note", help="a note recorded with the command")
        if verb in ("reject", "pause", "cancel"):
            p.add_argument("--reason", help="why, recorded on the campaign's event")
        if verb == "approve":
            p.add_argument("--window-start", help="activation window start (ISO time with zone)")
            p.add_argument("--window-end", help="activation window end (ISO time with zone)")
            p.add_argument("--max-per-hour", type=int, help="sends per hour at most")
            p.add_argument("--max-per-day", type=int, help="sends per day at most")
            p.add_argument("--draft-version", type=int,
                           help="the draft version reviewed (a newer draft refuses it)")
            p.add_argument("--overrides-health-verdict",
                           help="the health verdict id this approval overrides (lifts a "
                                "health pause)")
        p.set_defaults(func=cmd_verb)
    return campaigns
