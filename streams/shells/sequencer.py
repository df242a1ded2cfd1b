"""Sequencer shell: enrollments, the due-touch scheduler, and the per-person sequence agent.

Exactly once per due touch: a timer on every worker nudges only the persons on partitions it
actively owns, by a command to the persons' partition. Only the partition's owner processes
it; the core appends the touch with a compare-and-set, so a second nudge finds the touch
taken. Emits are acknowledged by the broker before the table is written (the kernel's loop):
after a crash in between, the redelivered command re-emits the same TouchRequested (same
event_id and idempotency_key), which downstream senders dedupe.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from functools import cache
from typing import Any

from agents.sequencer.definition import load_definitions
from agents.sequencer.enrollment import enrollment_for
from agents.sequencer.nudge import check_of, due_nudges
from agents.sequencer.packing import COMMANDS_TOPIC, packed_enrollments
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.reply import stops_in
from agents.sequencer.storage import decode, encode, next_due_of
from streams.contracts import codec
from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CheckDuePeople,
    EnrollContact,
    EnrollContacts,
    GateVerdictRecord,
    LeadGated,
    ProviderEventNormalized,
    SequenceCommand,
)
from streams.contracts.models.sequence import command_key
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.caps import CapLedger
from streams.kernel.channel import Channel
from streams.kernel.home import home_check
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.packed_items import by_key_at_home, each_item, folded_each, guarded
from streams.kernel.schedule import DueSchedule
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_due

# A webhook older than this (the record's timestamp, wall time) is left to the engagement
# path: a stop on arrival is worth a parse only while the record is new (a sequencer group
# that never read the webhooks reads the retained ones once, from the earliest).
ON_ARRIVAL_SECONDS = 60.0


def register(hub: Hub) -> None:
    s, n = hub.settings, hub.catalog["sequence_commands"].partitions
    definitions = load_definitions(s.sequences_file) if s.sequences_file else load_definitions()
    people: TableStore[PersonState] = TableStore(
        hub.table("sequencer-people", n), decode, encode,
        # Decoded persons kept between decisions (streams/kernel/store.py): the persons being
        # worked on (a touch, its send report, the next touch) decode once.
        lambda key: PersonState(contact_key=key), keep=s.sequencer_persons_kept,
        keep_seconds=s.sequencer_persons_kept_seconds)
    caps = CapLedger(hub.table("sequencer-caps", n, default=int), hub.clock)
    campaigns = CampaignStatusView.on(hub)
    schedule = DueSchedule(n, s.sequencer_due_horizon_seconds or math.inf)
    people.on_write = lambda key, state, part: schedule.update(key, state.next_due_at, part)

    @cache  # one per partition: which share of the caps and campaign rates its persons spend
    def context(partition: int) -> SequencerContext:
        return SequencerContext(definitions=definitions, window=s.window, caps=s.caps,
                                ids=STABLE_IDS, campaign_status=campaigns.status,
                                campaign_window=campaigns.window,
                                campaign_rates=campaigns.rates,
                                caps_spent=caps.get, partitions=n, partition=partition,
                                recheck_seconds=s.sequencer_campaign_recheck_seconds)

    def enroll(record: GateVerdictRecord, event: Any) -> list[Decided[Any]]:

        def one(v: LeadGated) -> list[Decided[Any]]:
            command = enrollment_for(v)  # acknowledged before the verdict: none is lost
            return [routed([] if command is None else [
                Emit("sequence_commands", command_key(command), command)])]

        return each_item(hub, "sequencer", event,
                         record.verdicts,  # a pack's, or the one
                         lambda v: v.company_sov_id or v.lead_id, one)

    async def decide(item: Any, event: Any) -> list[Decided[PersonState]]:
        # Nothing is decided before the campaign-status view has caught up: after a restart an
        # empty view would take a paused campaign for one it has not heard of, and send.
        await campaigns.wait_ready()
        now, partition = hub.clock.now(), event.message.partition
        if commands.alias_of(event) == "provider_events":
            return stopped_on_arrival(item, event, now)
        if isinstance(item, CheckDuePeople):
            return schedule.each(item.contact_keys, lambda key: decide_key(
                key, check_of(key, now), partition, now))
        if isinstance(item, EnrollContacts):
            return enrolled(item.enrollments, event, partition, now)
        return [decide_key(item.contact_key, item, partition, now)]

    home = home_check(hub, "provider_events", "sequence_commands")
    home_of_command = home_check(hub, "sequence_commands", "sequence_commands")

    def enrolled(enrollments: tuple[EnrollContact, ...], event: Any, partition: int,
                 now: datetime) -> list[Decided[Any]]:
        """A pack's enrollments, each decided in order as a record of its own was: one of a
        person enrolled twice sees what the first left (streams/kernel/packed_items.py)."""
        people_here, out = by_key_at_home(enrollments, lambda e: e.contact_key,
                                          home_of_command(event), COMMANDS_TOPIC)

        def one(state: PersonState, enrollment: EnrollContact) -> Decision[PersonState]:
            d = decide_person(state, enrollment, now, context(partition))
            caps.decided(partition, d.effects)  # the next person of the pack sees it
            return d

        step = guarded(hub, "sequencer", event, out, one, lambda e: e.contact_key,
                       lambda e: e.enrollment_id)
        return [*folded_each(hub, "sequencer", event, people_here,
                             lambda key, mine: people.folded(key, mine, step),
                             lambda e: e.enrollment_id), *out]

    def stopped_on_arrival(raw: bytes, event: Any, now: datetime) -> list[Decided[PersonState]]:
        """The webhook's events that end a sequence of a person of this partition, decided as
        their engagement records will be (agents/sequencer/reply.py): one hop, not two."""
        stamp = event.message.timestamp
        if stamp and time.time() - stamp > ON_ARRIVAL_SECONDS:
            return []  # its engagement record is on its way or applied: not worth a parse
        partition = event.message.partition
        def one(state: PersonState, item: ProviderEventNormalized) -> Decision[PersonState]:
            d = decide_person(state, item, now, context(partition))
            caps.decided(partition, d.effects)  # the next decision sees it
            outcome = "unchanged" if d.state is state else "applied"
            return Decision(d.state, d.emits, (*d.effects, Count(
                "sequencer_webhook_events_total", (("outcome", outcome),))))

        return people.folded_by_key(stops_in(raw, home(event)),
                                    lambda item: item.contact_key or "", one)

    def decide_key(key: str, item: Any, partition: int, now: datetime) -> Decided[PersonState]:
        state = people.get(key)
        decision = decide_person(state, item, now, context(partition))
        caps.decided(partition, decision.effects)  # the next person of the batch sees it
        return people.decided(key, state, decision)

    # A batch's enrollments go packed by their person's partition (agents/sequencer/packing.py).
    Stage(hub, "sequencer", Channel(hub, "gate_verdicts"), enroll,
          packs={COMMANDS_TOPIC: packed_enrollments}).agent("sequencer-enrollments")
    # A reply is taken before touches and send reports: a sequence stops first. The webhooks
    # themselves are read too: a reply on its person's partition stops the sequence on arrival.
    commands = Channel(hub, "sequence_commands", "send_events", "engagement_events",
                       "provider_events", models={
        "sequence_commands": lambda raw: SequenceCommand.model_validate(codec.loads(raw)).root,
        "provider_events": lambda raw: raw}, first=("engagement_events", "provider_events"))
    Stage(hub, "sequencer", commands, decide, caps).agent("sequencer", s.sequencer_batch_size)
    nudge_due(hub, "sequencer-nudge-due-people", s.sequencer_tick_seconds, schedule,
              "sequence_commands", lambda: hub.table_items(people.table),
              lambda _key, raw: next_due_of(raw),
              due_nudges)
