"""Web pages on the worker's port: /metrics (Prometheus) and /health."""

from __future__ import annotations

from typing import Any

from faust.web import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.contracts import codec
from streams.kernel import metrics
from streams.kernel.hub import Hub


def register(hub: Hub) -> None:
    app = hub.app

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=CONTENT_TYPE_LATEST)

    @app.page("/health")
    async def health_page(web: Any, request: Any) -> Any:
        # Ready once the worker has joined its group and owns its partitions.
        assigned = len(app.assignor.assigned_actives())
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
            sent = await hub.topic("provider_events").send(key=aggregate.encode(),
                                                            value=codec.dumps(event))
            await sent  # answer only once the broker has the unsubscribe
            return self.json({"status": "unsubscribed"})

    @app.page("/live")
    async def live_page(web: Any, request: Any) -> Any:
        return web.json({"status": "alive"})
