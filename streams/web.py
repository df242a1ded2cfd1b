"""Web pages on the worker's port: /metrics (Prometheus) and /health."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import codec, metrics
from streams.app import Hub


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
    async def unsubscribe_page(web: Any, request: Any) -> Any:
        """RFC 8058 one-click unsubscribe (POST) and the link in the email body (GET).

        The token is an HMAC of the aggregate id, so only links the hub sent work; the event
        goes onto the provider-events topic in the hub's own form and flows like any other.
        """
        from hmac import compare_digest

        from agents.sender.core import unsubscribe_token

        aggregate = request.query.get("a", "")
        token = request.query.get("t", "")
        secret = hub.settings.unsubscribe_secret.get_secret_value().encode()
        if not aggregate or not compare_digest(token, unsubscribe_token(aggregate, secret)):
            return web.json({"status": "invalid link"}, status=400)
        now = hub.clock.now()
        event = {"provider": "hub", "provider_event_id": f"unsubscribe-{aggregate}",
                 "type": "unsubscribed", "occurred_at": now.isoformat(),
                 "aggregate_id": aggregate}
        await hub.topic("provider_events").send(key=aggregate.encode(), value=codec.dumps(event))
        return web.json({"status": "unsubscribed"})

    @app.page("/live")
    async def live_page(web: Any, request: Any) -> Any:
        return web.json({"status": "alive"})
