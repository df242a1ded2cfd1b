"""The operator API on the worker's web port (never behind the chart's Ingress):

- ``GET /api/campaigns`` (``state``, ``company``, ``tier``, ``limit``, ``offset``)
- ``GET /api/campaigns/{id}``: the campaign, its history, health and audit where recorded
- ``POST /api/campaigns/{id}/{verb}`` (approve, reject, ask, modify_scope, pause, resume,
  cancel): a `CampaignCommand` onto `outreach.campaign.commands`, keyed by campaign id, as
  ``operator:<name>`` of the bearer token; then waits (bounded) for the hub's verdict on
  `outreach.campaign.events`: 200 accepted, 409 refused with the reason, 202 not yet decided.

Every call needs a token of `OUTREACH_OPERATOR_TOKENS`; a refused call produces nothing. The
decisions are in streams/operator/campaign_requests.py; the log names the operator and the
command, never a token.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import asyncpg
import orjson
from faust.web import View

from streams.adapters.campaigns_db import find_campaign, list_campaigns
from streams.app import Hub
from streams.contracts import codec
from streams.contracts.models.campaign import CampaignCommand
from streams.kernel.campaign_outcomes import CampaignOutcomes
from streams.kernel.operator_tokens import parse_tokens
from streams.operator.campaign_requests import (
    Refusal,
    answer,
    authenticate,
    command_from,
    list_filter,
)

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


class _Database:
    """A small pool, opened at the first read (a worker nobody asks opens nothing)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(self._url, min_size=0, max_size=2,
                                                       timeout=10)
            return self._pool


async def propose(hub: Hub, outcomes: CampaignOutcomes, command: CampaignCommand,
                  wait: float) -> tuple[int, dict[str, Any]]:
    """Put an operator's command on the campaign-commands topic and wait (bounded) for the
    hub's verdict: the answer's status and body (Refusal 503: nothing was proposed)."""
    if not await outcomes.wait_ready(wait):
        raise Refusal(503, "the worker is not following campaign events yet")
    try:
        sent = await hub.topic("campaign_commands").send(
            key=command.campaign_id.encode(), value=codec.dumps(command))
        await sent  # on the broker before anything is answered
    except Exception as exc:
        raise Refusal(503, f"the broker did not take the command "
                           f"({type(exc).__name__}); nothing changed") from None
    return answer(command, await outcomes.wait(command.command_id, wait))


def register(hub: Hub) -> tuple[CampaignOutcomes | None, Any]:
    """Registers the routes; returns what the review desk shares: the outcomes follower (None
    without tokens) and the database pool getter."""
    raw = hub.settings.operator_tokens
    tokens = parse_tokens(None if raw is None else raw.get_secret_value())
    wait = hub.settings.operator_api_wait_seconds
    # No tokens: every call is refused, so nothing to wait for either.
    outcomes = CampaignOutcomes.on(hub) if tokens.configured else None
    database = _Database(hub.database_url)

    async def guarded(view: View, request: Any, handle: Any) -> Any:
        try:
            operator = authenticate(tokens, request.headers.get("Authorization"))
            status, body = await handle(operator)
        except Refusal as refusal:
            if refusal.status in (401, 403):
                log.warning("operator api: %s %s refused (%d)", request.method, request.path,
                            refusal.status)
            return view.json(refusal.as_json(), status=refusal.status)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.error("operator api: %s %s failed (%s); answered 503", request.method,
                      request.path, type(exc).__name__)
            return view.json({"status": "unavailable", "error":
                              f"the hub's database is unavailable ({type(exc).__name__})"},
                             status=503)
        except Exception as exc:  # one line, not aiohttp's traceback with the request in it
            log.error("operator api: %s %s failed (%s); answered 500", request.method,
                      request.path, type(exc).__name__)
            return view.json({"status": "error", "error": "internal error"}, status=500)
        return view.json(body, status=status)

    @hub.app.page("/api/campaigns")
    class Campaigns(View):
        async def get(self, request: Any) -> Any:
            async def handle(operator: str) -> tuple[int, Any]:
                f = list_filter(request.query)
                async with (await database.pool()).acquire() as conn:
                    rows = await list_campaigns(conn, f)
                more = len(rows) == f.limit
                return 200, {"campaigns": rows,
                             "next_offset": f.offset + len(rows) if more else None}

            return await guarded(self, request, handle)

    @hub.app.page("/api/campaigns/{campaign_id}")
    class Campaign(View):
        async def get(self, request: Any, campaign_id: str) -> Any:
            async def handle(operator: str) -> tuple[int, Any]:
                async with (await database.pool()).acquire() as conn:
                    found = await find_campaign(conn, campaign_id)
                if found is None:
                    raise Refusal(404, f"no campaign {campaign_id}")
                return 200, found

            return await guarded(self, request, handle)

    @hub.app.page("/api/campaigns/{campaign_id}/{verb}")
    class Command(View):
        async def post(self, request: Any, campaign_id: str, verb: str) -> Any:
            async def handle(operator: str) -> tuple[int, Any]:
                assert outcomes is not None  # authenticate refused when no token is set
                raw = await request.content.read(MAX_BODY + 1)
                if len(raw) > MAX_BODY:
                    raise Refusal(413, f"the body is larger than {MAX_BODY} bytes")
                try:
                    body = orjson.loads(raw) if raw.strip() else {}
                except orjson.JSONDecodeError:
                    raise Refusal(400, "the body is not JSON") from None
                command = command_from(verb, campaign_id, body, operator,
                                       f"op-{uuid.uuid4().hex}", hub.clock.now())
                status, body = await propose(hub, outcomes, command, wait)
                log.info("operator api: %s %s by %s -> %s", verb, campaign_id, command.actor,
                         body["status"])
                return status, body

            return await guarded(self, request, handle)

    return outcomes, database.pool
