"""What the hub made of a campaign command, by command_id: the operator API waits on it.

A command proposes, the campaign stage decides, asynchronously: its verdict is a
`CampaignStateChanged` (accepted) or a `CampaignCommandRejected` (refused, with the reason) on
`outreach.campaign.events`, both carrying the command's id. Every worker serving the API
follows that topic from its end (only commands issued after it started can be waited for), by a
plain consumer without a group, like the campaign-status view, and keeps the latest outcomes so
a verdict that arrives before its waiter does is not lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from streams.contracts import codec
from streams.contracts.models.campaign import (
    CampaignCommandRejected,
    CampaignEvent,
    CampaignStateChanged,
)
from streams.kernel.follower import follow
from streams.kernel.kafka_security import KafkaSecurity

if TYPE_CHECKING:
    from streams.kernel.hub import Hub

log = logging.getLogger(__name__)
KEPT = 10_000


@dataclass(frozen=True, slots=True)
class Outcome:
    command_id: str
    campaign_id: str
    accepted: bool
    state: str | None  # the campaign's state after the command (refused: as it stayed)
    version: int
    reason: str | None
    code: str | None = None  # a refusal's machine-readable code

    def as_json(self) -> dict[str, Any]:
        return {"status": "accepted" if self.accepted else "refused",
                "command_id": self.command_id, "campaign_id": self.campaign_id,
                "state": self.state, "version": self.version, "reason": self.reason,
                "code": self.code}


def outcome_of(event: CampaignStateChanged | CampaignCommandRejected) -> Outcome | None:
    """The verdict an event carries, or None when it answers no command (pure)."""
    if event.command_id is None:
        return None
    if isinstance(event, CampaignCommandRejected):
        return Outcome(event.command_id, event.campaign_id, False, event.state, event.version,
                       event.reason, event.code)
    return Outcome(event.command_id, event.campaign_id, True, event.to_state, event.version,
                   event.reason)


class CampaignOutcomes:
    """Outcomes by command_id, and the callers waiting for one."""

    def __init__(
        self, topic: str, bootstrap: str, kept: int = KEPT, *, security: KafkaSecurity
    ) -> None:
        self._topic = topic
        self._bootstrap = bootstrap
        self._security = security
        self._kept = kept
        self._seen: OrderedDict[str, Outcome] = OrderedDict()
        self._waiting: dict[str, list[asyncio.Future[Outcome]]] = {}
        self._ready = asyncio.Event()

    @classmethod
    def on(cls, hub: Hub) -> CampaignOutcomes:
        outcomes = cls(hub.catalog["campaign_events"].name, hub.kafka_bootstrap,
                       security=hub.settings.kafka)

        @hub.app.task
        async def follow_campaign_outcomes() -> None:
            await outcomes.follow()

        return outcomes

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def record(self, outcome: Outcome) -> None:
        self._seen[outcome.command_id] = outcome
        self._seen.move_to_end(outcome.command_id)
        while len(self._seen) > self._kept:
            self._seen.popitem(last=False)
        for future in self._waiting.pop(outcome.command_id, []):
            if not future.done():
                future.set_result(outcome)

    async def wait(self, command_id: str, timeout: float) -> Outcome | None:
        """The command's outcome, or None when none arrived within `timeout` seconds."""
        if command_id in self._seen:
            return self._seen[command_id]
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(command_id, []).append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            return None
        finally:
            left = [f for f in self._waiting.get(command_id, []) if f is not future]
            if left:
                self._waiting[command_id] = left
            else:
                self._waiting.pop(command_id, None)

    async def wait_ready(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def follow(self) -> None:
        await follow(self._topic, self._bootstrap, self._security, self._read, self._ready.set,
                     start="end", poll_ms=500)

    def _read(self, message: Any) -> None:
        try:
            event = CampaignEvent.model_validate(codec.loads(message.value)).root
        except (ValidationError, ValueError):
            return  # the campaign-status view and the sink report unreadable records
        outcome = outcome_of(event)
        if outcome is not None:
            self.record(outcome)
