"""Sequencer shell: enrollments, the due-touch scheduler, and the per-person sequence agent.

Exactly once per due touch: a timer on every worker nudges only the persons on partitions it
actively owns, by sending a CheckDuePeople command to their partition. Only the partition's
owner processes it; the core appends the touch with a compare-and-set, so a second nudge finds
the touch taken. Emits are acknowledged by the broker before the table is written: after a
crash in between, the redelivered command re-emits the same TouchRequested (same event_id and
idempotency_key), which downstream senders dedupe.
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from typing import Any

from faust.streams import _current_event, current_event
from pydantic import BaseModel

from agents.sequencer.caps import cap_keys, expired_cap_keys
from agents.sequencer.definition import load_definitions
from agents.sequencer.enrollment import enrollment_for
from agents.sequencer.person import ConsumeCap, PersonState, SequencerContext, decide_person
from agents.sequencer.storage import decode, encode, next_due_of
from agents.sequencer.window import cap_day
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CheckDuePeople,
    CheckDueTouches,
    EngagementRecorded,
    LeadGated,
    SendRecorded,
    SequenceCommand,
)
from streams.contracts.models.sequence import command_key
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.hub import Hub
from streams.kernel.loop import decide_in_batch, route_in_batch
from streams.kernel.ownership import owned_partitions
from streams.kernel.schedule import DueSchedule

log = logging.getLogger(__name__)


def register(hub: Hub) -> None:
    settings = hub.settings
    commands = hub.catalog["sequence_commands"]
    definitions = (
        load_definitions(settings.sequences_file) if settings.sequences_file else load_definitions()
    )
    people = hub.app.Table("sequencer-people", partitions=commands.partitions)
    caps = hub.app.Table("sequencer-caps", partitions=commands.partitions, default=int)
    campaigns = CampaignStatusView.on(hub)
    inputs: dict[str, type[BaseModel]] = {
        commands.name: SequenceCommand,
        hub.catalog["send_events"].name: SendRecorded,
        hub.catalog["engagement_events"].name: EngagementRecorded,
    }
    channel = hub.app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    schedule = DueSchedule(commands.partitions)
    swept: dict[int, str] = {}  # partition -> the day its expired cap counters were dropped

    def enroll(event: Any) -> list[Emit]:
        verdict = LeadGated.model_validate(codec.loads(event.value))
        command = enrollment_for(verdict)
        # Acknowledged before the verdict is: a lost enrollment would lose the sequence.
        return [] if command is None else [Emit("sequence_commands", command.contact_key, command)]

    async def handle_batch(events: list[Any]) -> None:
        # Nothing is decided before the campaign-status view has caught up: after a restart an
        # empty view would take a paused campaign for one it has not heard of, and send.
        await campaigns.wait_ready()
        # Today's cap spending includes this batch's own, not yet in the table.
        spent: Counter[str] = Counter()

        def decide_one(event: Any, latest: Any) -> Any:
            msg = event.message
            now = hub.clock.now()
            item = _decode(inputs, msg.topic, event.value)
            if isinstance(item, CheckDuePeople):
                outcomes = []
                for key in item.contact_keys:
                    try:
                        outcomes.append(
                            decide_key(
                                key,
                                CheckDueTouches(contact_key=key, issued_at=now),
                                msg.partition,
                                now,
                                latest,
                            )
                        )
                    except Exception as exc:  # one broken person must not hold the others
                        log.error(
                            "sequencer failed on one person of a nudge (%s); held",
                            type(exc).__name__,
                        )
                        schedule.update(key, None)  # not nudged again until its next event
                return outcomes
            return decide_key(item.contact_key, item, msg.partition, now, latest)

        def decide_key(key: str, item: Any, partition: int, now: Any, latest: Any) -> Any:
            state = latest(key)
            if state is None:
                raw = people.get(key)
                state = decode(key, raw) if raw else PersonState(contact_key=key)
            ctx = SequencerContext(
                definitions=definitions, window=settings.window, caps=settings.caps,
                ids=STABLE_IDS, campaign_status=campaigns.status,
                caps_spent=lambda k: int(caps.get(k) or 0) + spent[k],
                partitions=commands.partitions, partition=partition,
            )
            decision = decide_person(state, item, now, ctx)
            spent.update(_spent_keys(decision, partition))
            return key, state, decision

        stored: Counter[str] = Counter()
        cap_events: dict[str, Any] = {}

        def store(key: str, before: Any, decision: Any) -> None:
            event = current_event()
            for cap_key in _spent_keys(decision, event.message.partition):  # type: ignore[union-attr]
                stored[cap_key] += 1
                cap_events[cap_key] = event
            if decision.state is not before:
                people[key] = encode(decision.state)
            schedule.update(key, decision.state.next_due_at, event.message.partition)  # type: ignore[union-attr]

        await decide_in_batch(hub, "sequencer", events, decide_one, store)
        # One changelog record per cap key and batch, not per touch: a mailbox's counter is
        # shared by every person of the partition. Written under an event of its partition.
        for cap_key, n in stored.items():
            _current_event.set(weakref.ref(cap_events[cap_key]))
            caps[cap_key] = int(caps.get(cap_key) or 0) + n
        # Once a day per partition, under one of its events: drop counters no one reads again.
        today = cap_day(hub.clock.now())
        for event in events:
            partition = event.message.partition
            if swept.get(partition) != today:
                swept[partition] = today
                _current_event.set(weakref.ref(event))
                for key in expired_cap_keys(list(caps.keys()), partition, today):
                    del caps[key]

    @hub.app.agent(hub.topic("gate_verdicts"), name="sequencer-enrollments")
    async def enrollments(stream: Any) -> None:
        async for events in stream.take_events(500, within=0.02):
            await route_in_batch(hub, "sequencer", list(events), enroll)

    @hub.app.agent(channel, name="sequencer")
    async def sequencer(stream: Any) -> None:
        async for events in stream.take_events(settings.sequencer_batch_size, within=0.02):
            await handle_batch(list(events))

    @hub.app.timer(settings.sequencer_tick_seconds)
    async def nudge_due_people() -> None:
        if hub.app.rebalancing or hub.app.in_recovery:
            schedule.stale = True  # partitions are moving: rescan once they have settled
            return
        owned = owned_partitions(hub.app, commands.name)
        if schedule.stale or owned != schedule.scanned_for:
            await schedule.rescan(list(people.items()), owned, lambda _key, raw: next_due_of(raw))
        topic = hub.topic("sequence_commands")
        now = hub.clock.now()
        by_partition: dict[int, list[str]] = {}
        # A nudge stays outstanding until its person's state is written (update clears it),
        # or for a minute: under a backlog, re-nudging would only queue duplicate work.
        for key, partition in schedule.due(
            now, owned, max(60.0, settings.sequencer_tick_seconds * 5)
        ):
            by_partition.setdefault(partition, []).append(key)
        for partition, keys in by_partition.items():
            for start in range(0, len(keys), NUDGE_CHUNK):
                check = CheckDuePeople(
                    partition=partition,
                    issued_at=now,
                    contact_keys=tuple(keys[start : start + NUDGE_CHUNK]),
                )
                await topic.send(
                    key=command_key(check).encode(), partition=partition, value=codec.dumps(check)
                )


# Persons per nudge record: big enough to amortize the per-record cost, small enough that one
# record is decided well within a batch.
NUDGE_CHUNK = 200


def _decode(inputs: dict[str, type[BaseModel]], topic: str, raw: bytes) -> Any:
    item = inputs[topic].model_validate(codec.loads(raw))
    return item.root if isinstance(item, SequenceCommand) else item


def _spent_keys(decision: Any, partition: int) -> list[str]:
    return [
        k
        for e in decision.effects
        if isinstance(e, ConsumeCap)
        for k in cap_keys(partition, e.day, e.mailbox, e.domain)
    ]
