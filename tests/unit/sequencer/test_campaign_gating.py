"""No step can be skipped: a person's touch is requested only while the campaign is active in
the view and inside its approved window; a campaign never heard of holds."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.campaigns.state_machine import STATES
from agents.sequencer.person import PersonState, decide_person
from streams.contracts.models import TouchRequested
from tests.unit.sequencer.test_sequencer_person import CTX, KEY, T0, check, enroll


def status_of(status: str | None, _campaign_id: str | None) -> str | None:
    return status


def touches(state: PersonState, status: str | None, at: datetime,
            window: tuple[datetime | None, datetime | None] | None = None
            ) -> tuple[PersonState, list[TouchRequested]]:
    ctx = replace(CTX, campaign_status=functools.partial(status_of, status),
                  campaign_window=lambda _c: window)
    d = decide_person(state, check(at), at, ctx)
    return d.state, [e.event for e in d.emits if isinstance(e.event, TouchRequested)]


def enrolled() -> PersonState:
    ctx = replace(CTX, campaign_status=functools.partial(status_of, "draft"))
    return decide_person(PersonState(contact_key=KEY), enroll(campaign_id="cmp-x"), T0, ctx).state


def test_a_campaign_never_heard_of_holds() -> None:
    state, sent = touches(enrolled(), None, T0 + timedelta(days=1))
    assert sent == [] and state.active is not None and state.active.next_due_at is not None


def test_a_draft_holds_then_its_approval_lets_the_touch_go() -> None:
    state, sent = touches(enrolled(), "draft", T0 + timedelta(days=1))
    assert sent == []
    _, sent = touches(state, "active", T0 + timedelta(days=1, minutes=1))
    assert [t.campaign_id for t in sent] == ["cmp-x"]


def test_an_active_campaign_outside_its_window_holds_until_it_opens() -> None:
    at, opens = T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1)
    state, sent = touches(enrolled(), "active", at, (opens, None))
    assert sent == [] and state.active and state.active.next_due_at == opens
    assert touches(state, "active", opens, (opens, None))[1]
    closed = (None, at)
    assert touches(enrolled(), "active", at, closed)[1] == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from((None, *STATES)), st.integers(1, 72 * 60)),
                max_size=30))
def test_no_touch_is_requested_unless_the_view_says_active(
        script: list[tuple[str | None, int]]) -> None:
    state, at = enrolled(), T0
    for status, minutes in script:
        at += timedelta(minutes=minutes)
        state, sent = touches(state, status, at)
        assert not sent or status == "active"
