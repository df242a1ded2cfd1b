"""The shell's context builder (streams/shells/sequencer.py `_context`) fed into decide_person.

No broker: a stand-in hub carries only settings and the topic catalog; the caps table is a dict.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from agents.sequencer.caps import cap_keys
from agents.sequencer.definition import load_definitions
from agents.sequencer.person import PersonState, decide_person
from agents.sequencer.window import DailyCaps, SendWindow, cap_day
from streams.contracts.models.send import TouchRequested
from streams.contracts.models.sequence import EnrollContact
from streams.shells.sequencer import _context

DEFS = load_definitions()
KEY = "0123456789abcdef0123456789abcdef"
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
PARTITIONS = 4


def hub() -> Any:
    settings = SimpleNamespace(
        window=SendWindow(start_hour=0, end_hour=24, weekdays=tuple(range(7))),
        caps=DailyCaps(per_mailbox=400, per_domain=40))
    return SimpleNamespace(settings=settings,
                           catalog={"sequence_commands": SimpleNamespace(partitions=PARTITIONS)})


class NoCampaigns:
    def status(self, campaign_id: str | None) -> str | None:
        return None


def spent_caps(partition: int) -> dict[str, int]:
    # Today's domain share (40 // 4 = 10) already spent on this partition.
    m_key, d_key = cap_keys(partition, cap_day(T0), "sales-dev", "acmeroofing.test")
    return {m_key: 0, d_key: 10}


def enrollment() -> EnrollContact:
    return EnrollContact(
        enrollment_id="gate-evt-1", contact_key=KEY, lead_id="lead-1", company_sov_id="cmp-1",
        strategy="PERSONALIZED_EMAIL", tier="HOT", to_email="jane@acmeroofing.test",
        correlation_id="corr-1", requested_at=T0)


def test_context_reads_the_spent_cap_for_an_active_sequence() -> None:
    h, caps = hub(), spent_caps(0)
    fresh = PersonState(contact_key=KEY)
    free = decide_person(fresh, enrollment(), T0,
                         _context(h, fresh, None, 0, T0, DEFS, {}, NoCampaigns()))
    state = free.state
    assert state.active is not None and state.next_due_at is not None
    due = state.next_due_at
    ctx = _context(h, state, None, 0, due, DEFS, caps, NoCampaigns())
    assert ctx.domain_sent_today == 0  # a later day: today's keys are another day's
    ctx_today = _context(h, state, None, 0, T0, DEFS, caps, NoCampaigns())
    assert ctx_today.domain_sent_today == 10
    assert ctx_today.partitions == PARTITIONS


def test_enrollment_first_touch_respects_spent_domain_cap() -> None:
    h, caps = hub(), spent_caps(0)
    fresh = PersonState(contact_key=KEY)
    command = enrollment()
    ctx = _context(h, fresh, command, 0, T0, DEFS, caps, NoCampaigns())
    d = decide_person(fresh, command, T0, ctx)
    assert not [e for e in d.emits if isinstance(e.event, TouchRequested)]
