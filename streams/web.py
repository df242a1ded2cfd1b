"""Web pages on the worker's port: /metrics (Prometheus) and /health."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import metrics
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

    @app.page("/live")
    async def live_page(web: Any, request: Any) -> Any:
        return web.json({"status": "alive"})
