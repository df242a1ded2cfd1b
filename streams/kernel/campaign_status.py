"""The campaign-status view every worker keeps: campaign_id -> latest state and the terms in
force (activation window, rates, approved content digests).

The sequencer and the sender ask it whether a campaign may send: only `active` does. It is
filled on every worker from the whole campaign-events topic by a plain consumer without a
group (faust's GlobalTable has an open bug with several workers), folding
`CampaignStateChanged` by version so order and replays do not matter. A campaign the view has
never heard of is None, and holds: nothing is sent on a campaign nobody approved.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from agents.sequencer.campaign_quota import CampaignRates
from streams.contracts import codec
from streams.contracts.models import ApprovalTerms, CampaignEvent, CampaignStateChanged
from streams.kernel.follower import Progress, follow, one_per_worker
from streams.kernel.kafka_security import KafkaSecurity

if TYPE_CHECKING:
    from streams.kernel.hub import Hub

log = logging.getLogger(__name__)


def fold(view: dict[str, tuple[int, str]], event: CampaignStateChanged,
         terms: dict[str, ApprovalTerms | None] | None = None) -> None:
    """Keep the highest version's state (and terms) per campaign (pure but for the dicts it
    updates)."""
    held = view.get(event.campaign_id)
    if held is None or event.version > held[0]:
        view[event.campaign_id] = (event.version, event.to_state)
        if terms is not None:
            terms[event.campaign_id] = event.approval


class CampaignStatusView:
    """Filled from the start of the topic on every worker; `wait_ready()` returns once it has
    folded everything the topic held when the worker started, so a restarted worker never
    takes a paused campaign for one it has not heard of."""

    def __init__(self, topic: str, bootstrap: str, *, security: KafkaSecurity) -> None:
        self._view: dict[str, tuple[int, str]] = {}
        self._terms: dict[str, ApprovalTerms | None] = {}
        self._topic = topic
        self._bootstrap = bootstrap
        self._security = security
        self._ready = asyncio.Event()
        self._progress = Progress()

    @classmethod
    def on(cls, hub: Hub) -> CampaignStatusView:
        """The worker's one view (the sequencer and the sender share it)."""
        return one_per_worker(hub, "campaign_status", lambda: cls(
            hub.catalog["campaign_events"].name, hub.kafka_bootstrap, security=hub.settings.kafka))

    def status(self, campaign_id: str | None) -> str | None:
        if campaign_id is None:
            return None
        held = self._view.get(campaign_id)
        return held[1] if held else None

    def terms(self, campaign_id: str | None) -> ApprovalTerms | None:
        return None if campaign_id is None else self._terms.get(campaign_id)

    def window(self, campaign_id: str | None) -> tuple[datetime | None, datetime | None] | None:
        """The approved activation window (start, end); None: no approval known."""
        terms = self.terms(campaign_id)
        return None if terms is None else (terms.window_start, terms.window_end)

    def rates(self, campaign_id: str | None) -> CampaignRates | None:
        """The approved sends per hour / day the sequencer keeps to; None: no approval known."""
        terms = self.terms(campaign_id)
        if terms is None:
            return None
        return CampaignRates(terms.max_sends_per_hour, terms.max_sends_per_day)

    def approved_digests(self, campaign_id: str | None) -> frozenset[str] | None:
        """The content digests the approval in force binds, while the campaign is active; None
        (nothing may be sent) for any other state or a campaign without an approval."""
        terms = self.terms(campaign_id)
        if self.status(campaign_id) != "active" or terms is None:
            return None
        return frozenset(terms.content_digests)

    def refusal(self, campaign_id: str | None, now: datetime) -> str | None:
        """Why a touch of this campaign may not be sent now (None: it may)."""
        status = self.status(campaign_id)
        if status != "active":
            return f"campaign_not_active: campaign {campaign_id} is {status or 'unknown'}"
        window = self.window(campaign_id)
        if window is not None and ((window[0] is not None and now < window[0])
                                   or (window[1] is not None and now >= window[1])):
            return f"campaign_outside_window: campaign {campaign_id} is outside its window"
        return None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        if not self._ready.is_set():
            log.info("waiting for the campaign-status view to catch up")
            await self._ready.wait()

    async def caught_up(self, timeout: float = 5.0) -> bool:
        """Wait until the view has folded every campaign event written before this call (False:
        not within `timeout` s). A stage that decides on another worker's judgement (the sender
        on a touch the sequencer found active) may otherwise be behind it: seen in stage pools,
        a touch of a campaign approved a moment earlier refused as "unknown"."""
        return await self._progress.caught_up(timeout)

    async def follow(self) -> None:
        await follow(self._topic, self._bootstrap, self._security, self._fold, self._ready.set,
                     start="beginning", progress=self._progress)

    def _fold(self, message: Any) -> None:
        try:
            event = CampaignEvent.model_validate(codec.loads(message.value)).root
        except (ValidationError, ValueError):
            log.warning("campaign event unreadable at %s/%s/%s (skipped by the view; the sink "
                        "records it)", message.topic, message.partition, message.offset)
            return
        if isinstance(event, CampaignStateChanged):  # a rejection changes no state
            self.apply(event)

    def apply(self, event: CampaignStateChanged) -> None:
        fold(self._view, event, self._terms)
