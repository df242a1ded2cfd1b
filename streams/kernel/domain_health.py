"""The sending-domain health view every campaign worker keeps: domain -> the PAUSE verdict in
force, if any.

A domain's verdict is told to every campaign that sent from it, keyed by that campaign, so
its copies are spread over the partitions; the campaign stage that judges a new draft (which
has sent nothing yet) may run on a worker that owns none of them. So every worker follows the
whole health topic (outside any group, like the campaign-status view) and keeps the latest
domain verdict by evaluation time, whatever partition it came from: PAUSE holds its id, a later
HEALTHY or REVIEW verdict lifts it. Campaign-scope verdicts are not this view's business.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from streams.contracts import codec
from streams.contracts.models import CampaignHealthEvaluated
from streams.kernel.follower import follow, one_per_worker
from streams.kernel.kafka_security import KafkaSecurity

if TYPE_CHECKING:
    from streams.kernel.hub import Hub

log = logging.getLogger(__name__)


class DomainHealthView:
    def __init__(self, topic: str, bootstrap: str, *, security: KafkaSecurity) -> None:
        self._topic = topic
        self._bootstrap = bootstrap
        self._security = security
        # domain -> (evaluated_at of the latest verdict, the PAUSE verdict id or None)
        self._latest: dict[str, tuple[Any, str | None]] = {}
        self._ready = asyncio.Event()

    @classmethod
    def on(cls, hub: Hub) -> DomainHealthView:
        return one_per_worker(hub, "domain_health", lambda: cls(
            hub.catalog["campaign_health"].name, hub.kafka_bootstrap, security=hub.settings.kafka))

    def pause(self, domain: str) -> str | None:
        """The id of the PAUSE verdict in force for the sending domain, or None."""
        held = self._latest.get(domain.lower())
        return None if held is None else held[1]

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def apply(self, verdict: CampaignHealthEvaluated) -> None:
        """Fold one verdict; an older one read late (a replay) changes nothing."""
        if verdict.scope != "domain":
            return
        domain = verdict.sending_domain.lower()
        held = self._latest.get(domain)
        if held is not None and verdict.evaluated_at < held[0]:
            return
        self._latest[domain] = (verdict.evaluated_at,
                                verdict.verdict_id if verdict.verdict == "PAUSE" else None)

    async def follow(self) -> None:
        await follow(self._topic, self._bootstrap, self._security, self._read, self._ready.set,
                     start="beginning")

    def _read(self, message: Any) -> None:
        try:
            verdict = CampaignHealthEvaluated.model_validate(codec.loads(message.value))
        except (ValidationError, ValueError):
            log.warning("health verdict unreadable at %s/%s/%s (skipped by the domain view)",
                        message.topic, message.partition, message.offset)
            return
        self.apply(verdict)
