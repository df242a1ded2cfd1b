"""The review desk's routes on the worker's web port (/desk/...): see README "Review desk".
The login and logout are streams/desk/login.py's.

Every page but the login needs a session (else 303 to the login, nothing of a campaign shown);
every POST needs the one-use form token of its session. An action is the operator API's
command (streams/operator/campaign_requests.py), sent as ``operator:<name>`` of the session
and answered by the hub's verdict. The log names the operator and the action, never a token
or an address.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import asyncpg
from faust.web import View
from jinja2 import Environment, PackageLoader, select_autoescape

from agents.sender.content import ContentLibrary
from agents.sender.core import SenderConfig
from agents.sequencer.definition import (
    DEFAULT_DEFINITIONS_PATH,
    load_definitions,
    load_templates,
)
from streams.app import Hub
from streams.desk import actions, login, queries
from streams.desk.login import Door
from streams.desk.preview import definition_for, render_preview, subjects
from streams.desk.sessions import (
    FormRefused,
    OneTimeCodes,
    Session,
    Sessions,
    cookie_secure,
    parse_one_time_codes,
)
from streams.kernel.campaign_outcomes import CampaignOutcomes
from streams.kernel.operator_tokens import parse_tokens
from streams.operator.campaign_requests import STATES, TIERS, Refusal, command_from
from streams.operator_api import propose

log = logging.getLogger(__name__)
FLASHES_KEPT = 1000
PROJECTION_WAIT_SECONDS = 5.0


def when(value: datetime | str | None) -> str:
    """Every time on the desk in one form, to the minute in UTC: PostgreSQL's rows give
    datetimes, its JSON rows ISO strings, and a reviewer should not have to compare the two."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        at = value
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def environment() -> Environment:
    env = Environment(loader=PackageLoader("streams.desk", "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.filters["when"] = when
    return env


def register(hub: Hub, outcomes: CampaignOutcomes | None, pool: Any) -> None:
    s = hub.settings
    tokens = parse_tokens(None if s.operator_tokens is None
                          else s.operator_tokens.get_secret_value())
    codes = OneTimeCodes(parse_one_time_codes(
        None if s.desk_one_time_codes is None else s.desk_one_time_codes.get_secret_value()))
    key = (s.desk_secret.get_secret_value().encode() if s.desk_secret is not None
           else secrets.token_bytes(32))
    sessions = Sessions(key, int(s.desk_session_hours * 3600))
    door = Door(sessions, cookie_secure(s.public_base_url))
    session_of, to_login = door.session_of, door.to_login
    if outcomes is None and s.desk_one_time_codes is not None:
        outcomes = CampaignOutcomes.on(hub)
    env = environment()
    path = s.sequences_file or DEFAULT_DEFINITIONS_PATH
    definitions = load_definitions(path)
    library = ContentLibrary.of(load_templates(path))
    sender_cfg = SenderConfig(
        from_email=s.from_email, from_name=s.from_name, public_base_url=s.public_base_url,
        unsubscribe_secret=s.unsubscribe_secret.get_secret_value().encode(),
        calendar_secret=s.calendar_secret.get_secret_value().encode(), content=library)
    flashes: OrderedDict[str, str] = OrderedDict()

    def page(view: View, template: str, session: Session | None, status: int = 200,
             **context: Any) -> Any:
        flash = flashes.pop(session.sid, None) if session else None
        body = env.get_template(template).render(
            operator=session.operator if session else None, flash=flash,
            csrf=(lambda: sessions.form_token(session)) if session else None, **context)
        return view.html(body, status=status, headers={
            "Cache-Control": "no-store", "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                       "img-src 'self' data:; frame-src 'self'; "
                                       "form-action 'self'; frame-ancestors 'none'"})

    login.register(hub, door, tokens, codes, page)

    async def wait_projected(campaign_id: str, version: int) -> None:
        deadline = asyncio.get_running_loop().time() + PROJECTION_WAIT_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            try:
                async with (await pool()).acquire() as conn:
                    if await queries.caught_up(conn, campaign_id, version):
                        return
            except (OSError, TimeoutError, asyncpg.PostgresError):
                return  # the verdict is known; the page will say what PostgreSQL has
            await asyncio.sleep(0.2)

    async def guarded(view: View, request: Any, handle: Any) -> Any:
        """The page for a session (else the login), or a 503 page when PostgreSQL is not
        reachable (one log line, the exception's type only)."""
        session = session_of(request)
        if session is None:
            return to_login(view)
        try:
            return await handle(session)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.error("desk: %s %s failed (%s); answered 503", request.method, request.path,
                      type(exc).__name__)
            return page(view, "message.html", session, status=503, title="Unavailable",
                        message=f"The hub's database is unavailable ({type(exc).__name__}); "
                                "try again in a moment.")

    @hub.app.page("/desk/campaigns")
    class Campaigns(View):
        async def get(self, request: Any) -> Any:
            async def handle(session: Session) -> Any:
                q = actions.list_query(request.query, STATES, TIERS)
                async with (await pool()).acquire() as conn:
                    rows, more = await queries.campaigns_page(conn, q)
                return page(self, "campaigns.html", session, rows=rows, more=more, q=q,
                            states=sorted(STATES), tiers=sorted(TIERS),
                            next_url=actions.page_url(q, q.page + 1) if more else None,
                            prev_url=actions.page_url(q, q.page - 1) if q.page > 1 else None)

            return await guarded(self, request, handle)

    @hub.app.page("/desk/campaigns/{campaign_id}")
    class Campaign(View):
        async def get(self, request: Any, campaign_id: str) -> Any:
            async def handle(session: Session) -> Any:
                async with (await pool()).acquire() as conn:
                    view = await queries.campaign_view(conn, campaign_id)
                if view is None:
                    return page(self, "message.html", session, status=404, title="Not found",
                                message=f"No campaign {campaign_id}.")
                found = definition_for(definitions, view["campaign"])
                touches = found[1].touches if found else ()
                people = view["people"]
                return page(self, "campaign.html", session, **view, touches=touches,
                            subjects=subjects(library, sender_cfg, found[0], touches,
                                              view["campaign"], people[0], datetime.now(UTC))
                            if found and people else {},
                            health_policy=s.health, ended=queries.ENDED, running=queries.RUNNING,
                            bars=actions.bars(view, s.health))

            return await guarded(self, request, handle)

    @hub.app.page("/desk/campaigns/{campaign_id}/touches/{n}")
    class TouchPreview(View):
        async def get(self, request: Any, campaign_id: str, n: str) -> Any:
            async def handle(session: Session) -> Any:
                async with (await pool()).acquire() as conn:
                    view = await queries.campaign_view(conn, campaign_id)
                    c = view["campaign"] if view else None
                    people = (await queries.sample_people(conn, c.get("company_sov_id"),
                                                          c.get("strategy"), 1) if c else [])
                found = definition_for(definitions, c) if c else None
                touches = found[1].touches if found else ()
                touch = next((t for t in touches if str(t.index) == n), None)
                if c is None or found is None or touch is None:
                    return page(self, "message.html", session, status=404, title="Not found",
                                message=f"No touch {n} of campaign {campaign_id}.")
                person = people[0] if people else None
                preview = render_preview(library, sender_cfg, found[0], touch, c, person,
                                         datetime.now(UTC))
                return page(self, "touch.html", session, campaign=c, preview=preview,
                            person=person, company_name=view["company_name"] if view else None)

            return await guarded(self, request, handle)

    @hub.app.page("/desk/campaigns/{campaign_id}/{verb}")
    class Act(View):
        async def post(self, request: Any, campaign_id: str, verb: str) -> Any:
            session = session_of(request)
            if session is None:
                return to_login(self)
            form = await request.post()
            try:
                sessions.spend(session, str(form.get("csrf", "")) or None)
            except FormRefused as refused:
                log.warning("desk: %s %s by operator:%s refused (form)", verb, campaign_id,
                            session.operator)
                return page(self, "message.html", session, status=403, title="Refused",
                            message=refused.reason, back=f"/desk/campaigns/{campaign_id}")
            try:
                body = actions.body_of(verb, form)
                command = command_from(verb, campaign_id, body, session.operator,
                                       f"desk-{uuid.uuid4().hex}", hub.clock.now())
                if outcomes is None:
                    raise Refusal(503, "the desk cannot send commands on this worker")
                status, result = await propose(hub, outcomes, command,
                                               s.operator_api_wait_seconds)
            except Refusal as refusal:
                return page(self, "message.html", session, status=refusal.status,
                            title="Refused", message=refusal.reason,
                            back=f"/desk/campaigns/{campaign_id}")
            log.info("desk: %s %s by %s -> %s", verb, campaign_id, command.actor,
                     result["status"])
            if status == 409:
                return page(self, "message.html", session, status=409,
                            title="The hub refused this action",
                            message=f"{verb} {campaign_id}: {result.get('reason')}",
                            back=f"/desk/campaigns/{campaign_id}")
            if status == 200:  # the page reads PostgreSQL: show the verdict once it is there
                await wait_projected(campaign_id, int(result["version"]))
            flashes[session.sid] = actions.flash(verb, result)
            while len(flashes) > FLASHES_KEPT:
                flashes.popitem(last=False)
            return self.html("", status=303,
                             headers={"Location": f"/desk/campaigns/{campaign_id}"})

    @hub.app.page("/desk/pipeline")
    class Pipeline(View):
        async def get(self, request: Any) -> Any:
            async def handle(session: Session) -> Any:
                return page(self, "pipeline.html", session, **queries.pipeline())

            return await guarded(self, request, handle)

    @hub.app.page("/desk")
    class Root(View):
        async def get(self, request: Any) -> Any:
            return self.html("", status=303, headers={"Location": "/desk/campaigns"})

