"""The person core reads daily-cap counters and campaign status through its context's lookups:
which counter (partition, UTC day, the next touch's mailbox, the person's domain) and which
campaign is the core's decision; the shell only backs the lookups with its tables."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from agents.sequencer.caps import cap_keys
from agents.sequencer.definition import load_definitions
from agents.sequencer.person import PersonState, SequencerContext, decide_person
from agents.sequencer.person_state import approved_campaign
from agents.sequencer.window import DailyCaps, SendWindow, cap_day
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.send import TouchRequested
from streams.contracts.models.sequence import CheckDueTouches, EnrollContact

DEFS = load_definitions()
KEY = "0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
PARTITIONS = 4
CTX = SequencerContext(campaign_status=approved_campaign,
    definitions=DEFS, window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))),
    caps=DailyCaps(per_mailbox=400, per_domain=40), ids=STABLE_IDS, partitions=PARTITIONS)


def enrollment(campaign: str | None = None) -> EnrollContact:
    return EnrollContact(
        enrollment_id="gate-evt-1", contact_key=KEY, lead_id="lead-1", company_sov_id="cmp-1",
        campaign_id=campaign, strategy="PERSONALIZED_EMAIL", tier="HOT",
        to_email="jane@AcmeRoofing.test", correlation_id="corr-1", requested_at=T0)


def touches(d: object) -> list[TouchRequested]:
    return [e.event for e in d.emits if isinstance(e.event, TouchRequested)]  # type: ignore[attr-defined]


def test_the_core_reads_the_next_touchs_counters_of_its_partition_and_day() -> None:
    read: list[str] = []

    def spent(key: str) -> int:
        read.append(key)
        return 0

    ctx = dataclasses.replace(CTX, partition=2, caps_spent=spent)
    d = decide_person(PersonState(contact_key=KEY), enrollment(), T0, ctx)
    assert [t.touch_index for t in touches(d)] == [1]
    mailbox = DEFS["PERSONALIZED_EMAIL"].touches[0].principal
    assert read == list(cap_keys(2, cap_day(T0), mailbox, "acmeroofing.test"))


def test_a_spent_domain_share_defers_the_first_touch() -> None:
    m_key, d_key = cap_keys(0, cap_day(T0), "sales-dev", "acmeroofing.test")
    spent = {m_key: 0, d_key: 10}  # 40 // 4 partitions: this partition's share is spent
    ctx = dataclasses.replace(CTX, caps_spent=lambda k: spent.get(k, 0))
    d = decide_person(PersonState(contact_key=KEY), enrollment(), T0, ctx)
    assert touches(d) == []
    # Another partition's counter, or another day's, leaves the touch free.
    other = dataclasses.replace(ctx, partition=1)
    assert len(touches(decide_person(PersonState(contact_key=KEY), enrollment(), T0, other))) == 1
    later = T0 + timedelta(days=1)
    assert len(touches(decide_person(PersonState(contact_key=KEY), enrollment(), later, ctx))) == 1


def test_no_counter_is_read_when_nothing_is_sent() -> None:
    read: list[str] = []
    ctx = dataclasses.replace(CTX, caps_spent=lambda k: read.append(k) or 0)
    state = decide_person(PersonState(contact_key=KEY), enrollment(), T0, ctx).state
    read.clear()
    early = T0 + timedelta(hours=1)  # the cadence waits: no touch, so no cap to read
    decide_person(state, CheckDueTouches(contact_key=KEY, issued_at=early), early, ctx)
    assert read == []


def test_the_core_asks_for_the_status_of_the_persons_campaign() -> None:
    asked: list[str | None] = []

    def status(campaign_id: str | None) -> str | None:
        asked.append(campaign_id)
        return "paused"

    ctx = dataclasses.replace(CTX, campaign_status=status)
    d = decide_person(PersonState(contact_key=KEY), enrollment("camp-7"), T0, ctx)
    assert asked == ["camp-7"] and touches(d) == []
