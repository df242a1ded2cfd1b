"""Sequencer shell: enrollments, the due-touch scheduler, and the per-person sequence agent.

Exactly once per due touch: a timer on every worker nudges only the persons on partitions it
actively owns, by a command to the persons' partition. Only the partition's owner processes
it; the core appends the touch with a compare-and-set, so a second nudge finds the touch
taken. Emits are acknowledged by the broker before the table is written (the kernel's loop):
after a crash in between, the redelivered command re-emits the same TouchRequested (same
event_id and idempotency_key), which downstream senders dedupe.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from agents.sequencer.definition import load_definitions
from agents.sequencer.enrollment import enrollment_for
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.storage import decode, encode, next_due_of
from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import CheckDuePeople, CheckDueTouches, LeadGated, SequenceCommand
from streams.contracts.models.sequence import command_key
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.caps import CapLedger
from streams.kernel.channel import Channel
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.schedule import DueSchedule
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_every, owned_partitions

log = logging.getLogger(__name__)
NUDGE_CHUNK = 200  # persons per nudge: amortizes the per-record cost, decided well in a batch


def register(hub: Hub) -> None:
    s, n = hub.settings, hub.catalog["sequence_commands"].partitions
    definitions = load_definitions(s.sequences_file) if s.sequences_file else load_definitions()
    people: TableStore[PersonState] = TableStore(
        hub.app.Table("sequencer-people", partitions=n), decode, encode,
        lambda key: PersonState(contact_key=key))
    caps = CapLedger(hub.app.Table("sequencer-caps", partitions=n, default=int), hub.clock)
    campaigns, schedule = CampaignStatusView.on(hub), DueSchedule(n)
    people.on_write = lambda key, state, partition: schedule.update(
        key, state.next_due_at, partition)

    def enroll(verdict: LeadGated, _event: Any) -> Decided[None]:
        command = enrollment_for(verdict)  # acknowledged before the verdict: none is lost
        return routed([] if command is None else [Emit("sequence_commands", command_key(command),
                                                          command)])

    async def decide(item: Any, event: Any) -> list[Decided[PersonState]]:
        # Nothing is decided before the campaign-status view has caught up: after a restart an
        # empty view would take a paused campaign for one it has not heard of, and send.
        await campaigns.wait_ready()
        now, partition = hub.clock.now(), event.message.partition
        if not isinstance(item, CheckDuePeople):
            return [decide_key(item.contact_key, item, partition, now)]
        outcomes = []
        for key in item.contact_keys:
            try:
                check = CheckDueTouches(contact_key=key, issued_at=now)
                outcomes.append(decide_key(key, check, partition, now))
            except Exception as exc:  # one broken person must not hold the others
                log.error("sequencer failed on one person of a nudge (%s); held",
                          type(exc).__name__)
                schedule.update(key, None)  # not nudged again until its next event
        return outcomes

    def decide_key(key: str, item: Any, partition: int, now: datetime) -> Decided[PersonState]:
        state = people.get(key)
        ctx = SequencerContext(definitions=definitions, window=s.window, caps=s.caps,
                               ids=STABLE_IDS, campaign_status=campaigns.status,
                               campaign_window=campaigns.window,
                               caps_spent=caps.get, partitions=n, partition=partition)
        decision = decide_person(state, item, now, ctx)
        caps.decided(partition, decision.effects)  # the next person of the batch sees it
        return people.decided(key, state, decision)

    async def due_people(now: datetime) -> AsyncIterator[Emit]:
        if hub.app.rebalancing or hub.app.in_recovery:
            schedule.stale = True  # partitions are moving: rescan once they have settled
            return
        owned = owned_partitions(hub.app, hub.catalog["sequence_commands"].name)
        if schedule.stale or owned != schedule.scanned_for:
            await schedule.rescan(list(people.table.items()), owned,
                                  lambda _key, raw: next_due_of(raw))
        by_partition: dict[int, list[str]] = {}
        # A nudge stays outstanding until its person's state is written (update clears it),
        # or for a minute: under a backlog, re-nudging would only queue duplicate work.
        for key, partition in schedule.due(now, owned, max(60.0, s.sequencer_tick_seconds * 5)):
            by_partition.setdefault(partition, []).append(key)
        for partition, keys in by_partition.items():
            for i in range(0, len(keys), NUDGE_CHUNK):
                check = CheckDuePeople(partition=partition, issued_at=now,
                                       contact_keys=tuple(keys[i : i + NUDGE_CHUNK]))
                yield Emit("sequence_commands", command_key(check), check, partition)

    Stage(hub, "sequencer", Channel(hub, "gate_verdicts"), enroll).agent("sequencer-enrollments")
    commands = Channel(hub, "sequence_commands", "send_events", "engagement_events", models={
        "sequence_commands": lambda raw: SequenceCommand.model_validate(codec.loads(raw)).root})
    Stage(hub, "sequencer", commands, decide, caps).agent("sequencer", s.sequencer_batch_size)
    nudge_every(hub, "sequencer-nudge-due-people", s.sequencer_tick_seconds, due_people)
