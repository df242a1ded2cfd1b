"""Web pages on the worker's port: /metrics (Prometheus), /health, /live, /unsubscribe and
/calendar/book; /webhooks/<provider> (streams/webhooks.py); /api/campaigns...
(streams/operator_api.py); /desk/... (the review desk, streams/desk/)."""

from __future__ import annotations

from html import escape
from typing import Any

from faust.web import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents.engagement.core import contact_key_of
from agents.sender.booking import BookingRedirect, BookingRefused, on_click
from streams import operator_api, webhooks
from streams.app import Hub
from streams.contracts import codec
from streams.desk import views as desk_views
from streams.kernel import metrics, observe


def _page(title: str, message: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"</head><body><h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>")


def register(hub: Hub) -> None:
    app = hub.app
    calendar_secret = hub.settings.calendar_secret.get_secret_value().encode()

    observe.register(hub)  # consumer lag and table sizes, sampled for /metrics

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # As a header: aiohttp refuses a content_type argument that carries "charset=", and
        # prometheus' type does.
        return web.bytes(generate_latest(metrics.REGISTRY),
                         headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        # Ready once the worker has joined its group and owns its partitions: the consumer's
        # own assignment (Faust's assignor keeps none for an app without a table, so a
        # sink-only worker would never be ready).
        assigned = len(app.consumer.assignment())
        rebalancing = bool(app.rebalancing)
        ok = assigned > 0 and not rebalancing
        body = {
            "status": "ok" if ok else "starting",
            "assigned_partitions": assigned,
            "rebalancing": rebalancing,
        }
        return web.json(body, status=200 if ok else 503)

    @app.page("/unsubscribe")
    class Unsubscribe(View):
        """RFC 8058 one-click unsubscribe: a POST unsubscribes. A GET (the link in the body,
        and the link scanners of corporate mail gateways) only shows a button that POSTs, so a
        scanner fetching every link cannot unsubscribe anyone.

        The token is an HMAC of the aggregate id, so only links the hub sent work; the event
        goes onto the provider-events topic in the hub's own form and flows like any other,
        and the answer waits until the broker has it.
        """

        def _aggregate(self, request: Any) -> str | None:
            from hmac import compare_digest

            from agents.sender.core import unsubscribe_token

            aggregate = request.query.get("a", "")
            token = request.query.get("t", "")
            secret = hub.settings.unsubscribe_secret.get_secret_value().encode()
            if aggregate and compare_digest(token, unsubscribe_token(aggregate, secret)):
                return str(aggregate)
            return None

        async def get(self, request: Any) -> Any:
            if self._aggregate(request) is None:
                return self.json({"status": "invalid link"}, status=400)
            form = ("<form method='post'><button type='submit'>Unsubscribe</button></form>")
            return self.html(form)

        async def post(self, request: Any) -> Any:
            aggregate = self._aggregate(request)
            if aggregate is None:
                return self.json({"status": "invalid link"}, status=400)
            event = {"provider": "hub", "provider_event_id": f"unsubscribe-{aggregate}",
                     "type": "unsubscribed", "occurred_at": hub.clock.now().isoformat(),
                     "aggregate_id": aggregate}
            # Keyed by the person, as the webhook ingress keys: decided where it lands.
            sent = await hub.topic("provider_events").send(
                key=contact_key_of(aggregate).encode(), value=codec.dumps(event))
            await sent  # answer only once the broker has the unsubscribe
            return self.json({"status": "unsubscribed"})

    @app.page("/calendar/book")
    class CalendarBook(View):
        """The calendar link of every email (agents/sender/booking.py decides). A verified
        click is on the broker before the person is sent on to the booking page; a HEAD (link
        checkers) gets the same answer and records nothing."""

        def _decide(self, request: Any) -> BookingRedirect | BookingRefused:
            # Every value of every name: a repeated parameter must reach verify as repeated.
            query = {name: request.query.getall(name) for name in set(request.query.keys())}
            return on_click(query, calendar_secret, hub.settings.booking_url, hub.clock.now())

        def _answer(self, outcome: BookingRedirect | BookingRefused) -> Any:
            if isinstance(outcome, BookingRefused):
                return self.html(_page(outcome.title, outcome.message), status=outcome.status)
            return self.html(_page("Booking", "Taking you to the booking page."), status=303,
                             headers={"Location": outcome.location})

        async def get(self, request: Any) -> Any:
            outcome = self._decide(request)
            if isinstance(outcome, BookingRedirect):
                click = outcome.click
                sent = await hub.topic("provider_events").send(
                    key=contact_key_of(str(click.aggregate_id)).encode(),
                    value=codec.dumps(click))
                await sent  # the click is recorded before the redirect
            return self._answer(outcome)

        async def head(self, request: Any) -> Any:
            return self._answer(self._decide(request))

    webhooks.register(hub)  # /webhooks/<provider>
    outcomes, pool = operator_api.register(hub)  # /api/campaigns...: inside the cluster only
    desk_views.register(hub, outcomes, pool)  # /desk/...: the review desk

    @app.page("/live")
    async def live_page(web: Any, request: Any) -> Any:
        return web.json({"status": "alive"})
