"""The review desk's way in and out (/desk/login, /desk/login/once, /desk/logout): operator
credentials or a one-time code exchanged for a session cookie, and the logout that revokes it.

The login form exists before any session, so its CSRF token is bound to a pre-session cookie
(``outreach_desk_login``, SameSite=Strict) its page sets: a login posted from elsewhere lacks
it and is refused. The log names the operator, never a token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.web import View

from streams.app import Hub
from streams.desk.sessions import FormRefused, OneTimeCodes, Session, Sessions, login_form
from streams.kernel.operator_tokens import OperatorTokens

log = logging.getLogger("streams.desk.views")  # one logger for the desk's lines, as before
COOKIE = "outreach_desk"
LOGIN_COOKIE = "outreach_desk_login"  # the login form's pre-session nonce
LOGIN = "/desk/login"


@dataclass(frozen=True, slots=True)
class Door:
    """What every desk page needs of the login: who the request's session is, and where to
    send a request without one."""

    sessions: Sessions
    secure: bool  # cookies only over https when the public URL is https

    def now(self) -> float:
        return datetime.now(UTC).timestamp()  # wall time: a cookie's expiry is real time

    def session_of(self, request: Any) -> Session | None:
        return self.sessions.verify(request.cookies.get(COOKIE), self.now())

    def to_login(self, view: View) -> Any:
        return view.html("", status=303, headers={"Location": LOGIN,
                                                  "Cache-Control": "no-store"})


def register(hub: Hub, door: Door, tokens: OperatorTokens, codes: OneTimeCodes,
             page: Callable[..., Any]) -> None:
    sessions, secure = door.sessions, door.secure

    def logged_in(view: View, operator: str, how: str) -> Any:
        _, cookie = sessions.issue(operator, door.now())
        response: Any = view.html("", status=303, headers={"Location": "/desk/campaigns"})
        response.set_cookie(COOKIE, cookie, max_age=sessions.ttl_seconds, path="/desk",
                            httponly=True, samesite="Strict", secure=secure)
        log.info("desk: operator:%s logged in (%s)", operator, how)
        return response

    def login_page(view: View, status: int = 200, error: str | None = None) -> Any:
        nonce, token = login_form(sessions)
        response: Any = page(view, "login.html", None, status=status,
                             configured=tokens.configured, login_csrf=token, error=error)
        response.set_cookie(LOGIN_COOKIE, nonce, max_age=3600, path="/desk", httponly=True,
                            samesite="Strict", secure=secure)
        return response

    @hub.app.page("/desk/login")
    class Login(View):
        async def get(self, request: Any) -> Any:
            return login_page(self)

        async def post(self, request: Any) -> Any:
            form = await request.post()
            try:
                sessions.check_login(request.cookies.get(LOGIN_COOKIE),
                                     str(form.get("csrf", "")) or None)
            except FormRefused as refused:
                log.warning("desk: a login form without a valid token was refused")
                return login_page(self, 403, refused.reason)
            operator = str(form.get("operator", "")).strip()
            name = tokens.identify(str(form.get("token", "")) or None)
            if name is None or name != operator:
                log.warning("desk: a login was refused")
                return login_page(self, 401,
                                  "Unknown operator or wrong token. Nothing was signed in.")
            response = logged_in(self, name, "token")
            response.del_cookie(LOGIN_COOKIE, path="/desk")
            return response

    @hub.app.page("/desk/login/once")
    class LoginOnce(View):
        async def get(self, request: Any) -> Any:
            name = codes.redeem(request.query.get("code"))
            if name is None:
                log.warning("desk: a one-time login was refused")
                return login_page(self, 401,
                                  "This one-time login is unknown or was already used.")
            return logged_in(self, name, "one-time code")

    @hub.app.page("/desk/logout")
    class Logout(View):
        async def post(self, request: Any) -> Any:
            session = door.session_of(request)
            if session is None:
                return door.to_login(self)
            try:
                sessions.spend(session, str((await request.post()).get("csrf", "")) or None)
            except FormRefused as refused:
                return page(self, "message.html", session, status=403, title="Refused",
                            message=refused.reason)
            sessions.revoke(session, door.now())
            log.info("desk: operator:%s logged out", session.operator)
            response: Any = door.to_login(self)
            response.del_cookie(COOKIE, path="/desk")
            return response
