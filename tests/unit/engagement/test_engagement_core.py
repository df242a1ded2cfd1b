"""Engagement's pure core: provider events -> engagement records and CL signals.

No broker, no clock: ``now`` is passed in and ids come from STABLE_IDS.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.engagement.core import (
    EngagementState,
    PendingSignal,
    contact_key_of,
    decide_event,
    expire_pending,
    on_send,
    signal_for,
)
from agents.sender.calendar_link import sign
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.base import PROCESS_ID_PATTERN
from streams.contracts.models.engagement import (
    EngagementRecorded,
    EngagementSignalled,
    ProviderEventNormalized,
)
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.models.send import SendRecorded

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
SECRET = b"calendar-secret-0123456789abcdef"
CONTACT = "ck-jane"
AGG = f"seq-roofing:{CONTACT}"
OTHER_AGG = f"seq-winter:{CONTACT}"
COMPANY = "cmp_8f2c1a"
WAIT = 600.0
EMPTY = EngagementState()


def send(aggregate: str = AGG, *, status: str = "sent", company: str | None = COMPANY,
         campaign: str | None = "camp-7", correlation: str = "corr-bit-42") -> SendRecorded:
    return SendRecorded(
        event_id=f"send-{aggregate}", occurred_at=NOW - timedelta(minutes=5),
        correlation_id=correlation, process_id="outreach-execution-send-20260302-0badc0de",
        aggregate_id=aggregate, contact_key=contact_key_of(aggregate), company_sov_id=company,
        campaign_id=campaign, touch_index=1, idempotency_key=f"idem-{aggregate}",
        status=status, provider="sandbox",  # type: ignore[arg-type]
        provider_message_id="msg-1" if status == "sent" else None)


def pev(type_: str, event_id: str = "pe-1", *, aggregate: str | None = AGG,
        bounce_kind: str | None = None, at: datetime = NOW, provider: str = "sendgrid",
        link: str | None = None) -> ProviderEventNormalized:
    return ProviderEventNormalized(
        provider=provider, provider_event_id=event_id, type=type_,  # type: ignore[arg-type]
        bounce_kind=bounce_kind, provider_message_id="msg-1", occurred_at=at,  # type: ignore[arg-type]
        aggregate_id=aggregate, calendar_link=link)


def decide(state: EngagementState, event: ProviderEventNormalized,
           now: datetime = NOW) -> Decision[EngagementState]:
    return decide_event(state, event, now, STABLE_IDS, SECRET)


def known(aggregate: str = AGG, **kwargs: Any) -> EngagementState:
    return on_send(EMPTY, send(aggregate, **kwargs), STABLE_IDS).state


def of_type(emits: tuple[Emit, ...], cls: type) -> list[Any]:
    return [e.event for e in emits if isinstance(e.event, cls)]


def link(sid: str = AGG, *, expires: datetime = NOW + timedelta(days=7),
         secret: bytes = SECRET) -> str:
    return sign(sid, "out-1", expires, secret, base_url="https://hub.example.com/calendar/book")


def with_param(url: str, **changes: str) -> str:
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return url.split("?")[0] + "?" + urlencode({**params, **changes})


# --------------------------------------------------------------------------------------------
# Tables: contact_key_of, signal_for


@pytest.mark.parametrize(("aggregate", "contact"), [
    ("seq-roofing:ck-jane", "ck-jane"), ("ck-jane", "ck-jane"), ("a:b:c", "c"),
    ("seq:", ""), ("seq-1:c0ffee", "c0ffee")])
def test_contact_key_is_the_last_segment(aggregate: str, contact: str) -> None:
    assert contact_key_of(aggregate) == contact


SIGNAL_TABLE: list[tuple[str, str | None, str | None]] = [
    ("opened", None, "engaged"),
    ("clicked", None, "engaged"),
    ("replied", None, "replied"),
    ("unsubscribed", None, "unsubscribed"),
    ("complained", None, "unsubscribed"),
    ("bounced", "hard", "bounced"),
    ("bounced", "soft", None),
    ("bounced", None, None),
    ("delivered", None, None),
    ("auto_replied", None, None),
]


@pytest.mark.parametrize(("type_", "kind", "signal"),
                         [*SIGNAL_TABLE, ("meeting_booked", None, "meeting_booked")])
def test_signal_for_table(type_: str, kind: str | None, signal: str | None) -> None:
    assert signal_for(pev(type_, bounce_kind=kind)) == signal


# --------------------------------------------------------------------------------------------
# After the send


def test_opened_after_send_records_and_signals_engaged() -> None:
    state = known()
    decision = decide(state, pev("opened", at=NOW - timedelta(minutes=1)))
    assert [(e.topic, e.key) for e in decision.emits] == [("engagement_events", CONTACT),
                                                          ("cl_signals", COMPANY)]
    record, signal = (e.event for e in decision.emits)
    assert isinstance(record, EngagementRecorded) and isinstance(signal, EngagementSignalled)
    assert record.aggregate_id == AGG and record.contact_key == CONTACT
    assert record.company_sov_id == COMPANY and record.campaign_id == "camp-7"
    assert record.type == "opened" and record.provider == "sendgrid"
    assert record.provider_event_id == "pe-1" and record.provider_message_id == "msg-1"
    assert record.correlation_id == "corr-bit-42"
    assert record.occurred_at == NOW - timedelta(minutes=1)
    assert signal.signal == "engaged" and signal.company_sov_id == COMPANY
    assert signal.aggregate_id == AGG and signal.campaign_id == "camp-7"
    assert signal.correlation_id == "corr-bit-42"
    assert signal.process_id.startswith("outreach-execution-engage-20260302-")
    assert re.match(PROCESS_ID_PATTERN, signal.process_id)
    assert re.match(PROCESS_ID_PATTERN, record.process_id) and "-engage-" in record.process_id
    assert decision.state.seen == ("sendgrid:pe-1",)
    assert decision.state.pending == ()


@pytest.mark.parametrize(("type_", "kind", "signal"), SIGNAL_TABLE)
def test_signal_table_after_send(type_: str, kind: str | None, signal: str | None) -> None:
    decision = decide(known(), pev(type_, bounce_kind=kind))
    records = of_type(decision.emits, EngagementRecorded)
    signals = of_type(decision.emits, EngagementSignalled)
    assert len(records) == 1 and records[0].type == type_ and records[0].bounce_kind == kind
    assert [s.signal for s in signals] == ([signal] if signal else [])
    assert of_type(decision.emits, OutreachErrorRaised) == []
    assert decision.state.pending == ()
    topics = {e.topic: e.key for e in decision.emits}
    assert topics["engagement_events"] == CONTACT
    if signal:
        assert topics["cl_signals"] == COMPANY


@pytest.mark.parametrize(("type_", "kind", "signal"), SIGNAL_TABLE)
def test_same_provider_event_twice_applies_once(type_: str, kind: str | None,
                                                signal: str | None) -> None:
    event = pev(type_, bounce_kind=kind)
    first = decide(known(), event)
    second = decide(first.state, event, NOW + timedelta(hours=1))
    assert first.emits != ()
    assert second.emits == ()
    assert second.state == first.state


def test_same_event_id_from_another_provider_is_another_event() -> None:
    first = decide(known(), pev("opened", "pe-1", provider="sendgrid"))
    second = decide(first.state, pev("opened", "pe-1", provider="postmark"))
    assert len(of_type(second.emits, EngagementRecorded)) == 1
    assert len(of_type(second.emits, EngagementSignalled)) == 1
    assert (of_type(first.emits, EngagementSignalled)[0].event_id
            != of_type(second.emits, EngagementSignalled)[0].event_id)


def test_send_of_another_aggregate_does_not_lend_its_company() -> None:
    state = known(OTHER_AGG)
    decision = decide(state, pev("replied"))
    assert of_type(decision.emits, EngagementSignalled) == []
    record = of_type(decision.emits, EngagementRecorded)[0]
    assert record.company_sov_id is None and record.correlation_id == f"aggregate:{AGG}"
    assert [p.aggregate_id for p in decision.state.pending] == [AGG]


def test_send_without_company_records_but_never_signals() -> None:
    state = known(company=None)
    decision = decide(state, pev("replied"))
    assert len(of_type(decision.emits, EngagementRecorded)) == 1
    assert of_type(decision.emits, EngagementSignalled) == []
    assert decision.state.pending == ()


@pytest.mark.parametrize("status", ["failed", "scheduled"])
def test_a_send_that_did_not_go_out_is_not_remembered(status: str) -> None:
    decision = on_send(EMPTY, send(status=status), STABLE_IDS)
    assert decision.emits == () and decision.state == EMPTY


# --------------------------------------------------------------------------------------------
# Before the send: held, released once, or expired


@pytest.mark.parametrize(("type_", "kind", "signal"), SIGNAL_TABLE)
def test_event_before_its_send_records_now_and_holds_the_signal(
        type_: str, kind: str | None, signal: str | None) -> None:
    at = NOW - timedelta(seconds=30)
    early = decide(EMPTY, pev(type_, bounce_kind=kind, at=at))
    assert [(e.topic, e.key) for e in early.emits] == [("engagement_events", CONTACT)]
    record = early.emits[0].event
    assert isinstance(record, EngagementRecorded)
    assert record.company_sov_id is None and record.correlation_id == f"aggregate:{AGG}"
    if signal is None:
        assert early.state.pending == ()
        assert on_send(early.state, send(), STABLE_IDS).emits == ()
        return
    assert early.state.pending == (PendingSignal(dedupe="sendgrid:pe-1", signal=signal,
                                                 aggregate_id=AGG, occurred_at=at),)
    released = on_send(early.state, send(), STABLE_IDS)
    assert [(e.topic, e.key) for e in released.emits] == [("cl_signals", COMPANY)]
    sig = released.emits[0].event
    assert isinstance(sig, EngagementSignalled)
    assert sig.signal == signal and sig.correlation_id == "corr-bit-42"
    assert sig.aggregate_id == AGG and sig.campaign_id == "camp-7"
    assert sig.process_id.startswith("outreach-execution-engage-")
    assert released.state.pending == ()
    # Released once: the send redelivered, or another, releases nothing more.
    assert on_send(released.state, send(), STABLE_IDS).emits == ()
    assert on_send(released.state, send(OTHER_AGG), STABLE_IDS).emits == ()
    # The same signal as if the send had come first.
    direct = decide(known(), pev(type_, bounce_kind=kind, at=at))
    assert of_type(direct.emits, EngagementSignalled) == [sig]


def test_pending_only_released_by_its_own_aggregate() -> None:
    early = decide(EMPTY, pev("replied"))
    other = on_send(early.state, send(OTHER_AGG), STABLE_IDS)
    assert other.emits == ()
    assert len(other.state.pending) == 1
    assert len(on_send(other.state, send(), STABLE_IDS).emits) == 1


@pytest.mark.parametrize(("offset", "expires"), [
    (0.0, False), (1.0, False), (WAIT - 1, False), (WAIT, False), (WAIT + 0.001, True),
    (WAIT + 1, True), (WAIT * 100, True)])
def test_expire_pending_after_the_wait(offset: float, expires: bool) -> None:
    at = NOW - timedelta(hours=1)
    early = decide(EMPTY, pev("opened", at=at), NOW)
    later = at + timedelta(seconds=offset)
    decision = expire_pending(early.state, CONTACT, later, STABLE_IDS, WAIT)
    if not expires:
        assert decision.emits == ()
        assert decision.state == early.state
        return
    assert [(e.topic, e.key) for e in decision.emits] == [("errors", CONTACT)]
    error = decision.emits[0].event
    assert isinstance(error, OutreachErrorRaised)
    assert error.code == "OUT-004" and error.severity == "low"
    assert error.stage == "engagement" and error.subject_id == AGG
    assert error.correlation_id == f"aggregate:{AGG}"
    assert error.occurred_at == later
    assert error.event_id == STABLE_IDS.event_id("tracking-delayed", "sendgrid:pe-1")
    assert re.match(PROCESS_ID_PATTERN, error.process_id)
    assert decision.state.pending == ()
    # Dropped: a send arriving afterwards releases nothing, and expiring again says nothing.
    assert on_send(decision.state, send(), STABLE_IDS).emits == ()
    assert expire_pending(decision.state, CONTACT, later + timedelta(days=1), STABLE_IDS,
                          WAIT).emits == ()


def test_expire_pending_drops_only_the_overdue() -> None:
    s1 = decide(EMPTY, pev("opened", "old", at=NOW - timedelta(seconds=WAIT + 5))).state
    s2 = decide(s1, pev("replied", "new", at=NOW - timedelta(seconds=5))).state
    decision = expire_pending(s2, CONTACT, NOW, STABLE_IDS, WAIT)
    assert len(decision.emits) == 1
    assert [p.dedupe for p in decision.state.pending] == ["sendgrid:new"]


def test_expire_pending_with_nothing_pending() -> None:
    decision = expire_pending(known(), CONTACT, NOW + timedelta(days=30), STABLE_IDS, WAIT)
    assert decision.emits == () and decision.state == known()


# --------------------------------------------------------------------------------------------
# Meeting booked: the signed calendar link


@pytest.mark.parametrize("send_first", [True, False])
def test_meeting_booked_with_valid_link_signals(send_first: bool) -> None:
    state = known() if send_first else EMPTY
    decision = decide(state, pev("meeting_booked", link=link()))
    records = of_type(decision.emits, EngagementRecorded)
    assert len(records) == 1 and records[0].type == "meeting_booked"
    assert of_type(decision.emits, OutreachErrorRaised) == []
    if send_first:
        assert [s.signal for s in of_type(decision.emits, EngagementSignalled)] == [
            "meeting_booked"]
    else:
        assert [p.signal for p in decision.state.pending] == ["meeting_booked"]
        released = on_send(decision.state, send(), STABLE_IDS)
        assert [s.signal for s in of_type(released.emits, EngagementSignalled)] == [
            "meeting_booked"]


def _bad_links() -> list[Any]:
    good = link()
    sig = parse_qs(urlsplit(good).query)["sig"][0]
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    return [
        pytest.param(with_param(good, sig=flipped), id="tampered-sig"),
        pytest.param(with_param(good, oid="out-2"), id="tampered-oid"),
        pytest.param(with_param(good, sid=OTHER_AGG), id="tampered-sid"),
        pytest.param(with_param(good, exp=str(int((NOW + timedelta(days=30)).timestamp()))),
                     id="tampered-exp"),
        pytest.param(link(expires=NOW - timedelta(seconds=1)), id="expired"),
        pytest.param(link(expires=NOW), id="expires-now"),
        pytest.param(link(secret=b"another-secret-0123456789abcdef"), id="other-secret"),
        pytest.param(link(sid=OTHER_AGG), id="other-aggregate"),
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("https://hub.example.com/calendar/book", id="no-params"),
        pytest.param(good.split("&sig=")[0], id="no-sig"),
        pytest.param(good + "&sig=extra", id="repeated-sig"),
    ]


@pytest.mark.parametrize("bad", _bad_links())
@pytest.mark.parametrize("send_first", [True, False])
def test_meeting_booked_with_bad_link_is_rejected(bad: str | None, send_first: bool) -> None:
    state = known() if send_first else EMPTY
    event = pev("meeting_booked", link=bad)
    decision = decide(state, event)
    assert [(e.topic, e.key) for e in decision.emits] == [("errors", CONTACT)]
    error = decision.emits[0].event
    assert isinstance(error, OutreachErrorRaised)
    assert error.code == "DLQ-INVALID-EVENT" and error.severity == "medium"
    assert error.stage == "engagement" and error.subject_id == AGG
    assert error.reason
    assert error.record == event.model_dump(mode="json")
    assert error.correlation_id == ("corr-bit-42" if send_first else f"aggregate:{AGG}")
    assert of_type(decision.emits, EngagementRecorded) == []
    assert of_type(decision.emits, EngagementSignalled) == []
    assert decision.state.pending == ()
    assert on_send(decision.state, send(), STABLE_IDS).emits == ()


def test_valid_link_expires_by_now_not_by_issue_time() -> None:
    url = link(expires=NOW + timedelta(hours=1))
    ok = decide(known(), pev("meeting_booked", "m1", link=url), NOW + timedelta(minutes=59))
    late = decide(known(), pev("meeting_booked", "m1", link=url), NOW + timedelta(hours=1))
    assert of_type(ok.emits, EngagementSignalled) != []
    assert of_type(late.emits, OutreachErrorRaised)[0].code == "DLQ-INVALID-EVENT"


# --------------------------------------------------------------------------------------------
# Without aggregate


@pytest.mark.parametrize("type_", ["opened", "replied", "unsubscribed", "meeting_booked",
                                   "delivered"])
@pytest.mark.parametrize("send_first", [True, False])
def test_event_without_aggregate_does_nothing(type_: str, send_first: bool) -> None:
    state = known() if send_first else EMPTY
    decision = decide(state, pev(type_, aggregate=None, link=link()))
    assert decision.emits == ()
    assert decision.state == state


# --------------------------------------------------------------------------------------------
# Property: each provider event applies once, in any order relative to the send

TYPES = [("opened", None), ("clicked", None), ("replied", None), ("unsubscribed", None),
         ("complained", None), ("bounced", "hard"), ("bounced", "soft"), ("delivered", None),
         ("auto_replied", None), ("meeting_booked", None)]
POOL = st.tuples(st.sampled_from(["sendgrid", "postmark"]), st.integers(0, 9),
                 st.sampled_from(TYPES), st.sampled_from([AGG, OTHER_AGG]),
                 st.integers(0, 3600))


def _event(spec: tuple[Any, ...]) -> ProviderEventNormalized:
    provider, n, (type_, kind), aggregate, seconds = spec
    url = link(aggregate) if type_ == "meeting_booked" else None
    return pev(type_, f"pe-{n}", aggregate=aggregate, bounce_kind=kind,
               provider=provider, at=NOW - timedelta(seconds=seconds), link=url)


@given(
    st.lists(POOL, min_size=1, max_size=12, unique_by=lambda s: (s[0], s[1])),
    st.data(),
)
@settings(max_examples=200, deadline=None)
def test_each_provider_event_records_and_signals_at_most_once(specs: list[Any],
                                                              data: st.DataObject) -> None:
    events = [_event(s) for s in specs]
    repeats = data.draw(st.lists(st.integers(0, len(events) - 1), max_size=12))
    stream: list[Any] = [*events, *(events[i] for i in repeats)]
    sends = data.draw(st.lists(st.sampled_from([AGG, OTHER_AGG]), max_size=3))
    stream += [send(a) for a in sends]
    order = data.draw(st.permutations(range(len(stream))))

    state = EMPTY
    emits: list[Emit] = []
    for i in order:
        item = stream[i]
        if isinstance(item, SendRecorded):
            decision = on_send(state, item, STABLE_IDS)
        else:
            decision = decide(state, item, NOW + timedelta(seconds=i))
        emits.extend(decision.emits)
        state = decision.state

    records = [e.event for e in emits if isinstance(e.event, EngagementRecorded)]
    signals = [e.event for e in emits if isinstance(e.event, EngagementSignalled)]
    assert not any(isinstance(e.event, OutreachErrorRaised) for e in emits)
    record_keys = [(r.provider, r.provider_event_id) for r in records]
    assert sorted(record_keys) == sorted((e.provider, e.provider_event_id) for e in events)
    assert len({s.event_id for s in signals}) == len(signals)
    # Exactly one signal per signalling event whose send was seen, none for the others.
    expected = {STABLE_IDS.event_id("cl-signal", f"{e.provider}:{e.provider_event_id}")
                for e in events if signal_for(e) is not None and e.aggregate_id in sends}
    assert {s.event_id for s in signals} == expected
    for s in signals:
        assert s.company_sov_id == COMPANY and s.correlation_id == "corr-bit-42"
    # What is still held waits for a send that never came.
    assert {p.aggregate_id for p in state.pending}.isdisjoint(sends)
