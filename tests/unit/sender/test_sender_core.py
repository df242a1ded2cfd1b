"""The sender's pure core: decide_request / record_result / on_engagement / render.

No broker, no clock: ``now`` is passed in and ids come from STABLE_IDS.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.sender.content import ContentLibrary
from agents.sender.core import (
    KEYS_KEPT,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
    on_engagement,
    record_result,
    unsubscribe_token,
    unsubscribe_url,
)
from agents.sender.email import OutgoingEmail, SendReceipt
from agents.sender.exceptions import scrub
from agents.sequencer.definition import load_definitions, load_templates
from streams.contracts.decision import Count, Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.base import PROCESS_ID_PATTERN
from streams.contracts.models.engagement import EngagementRecorded
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.models.merge_fields import MergeFields
from streams.contracts.models.send import SendRecorded, TouchRequested

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
SECRET = b"unsubscribe-secret-0123456789abcdef"
BASE = "https://hub.example.com"
CONTENT = ContentLibrary.of(load_templates())
CFG = SenderConfig(from_email="outreach@hub.example.com", from_name="Outreach Hub",
                   public_base_url=BASE, unsubscribe_secret=SECRET, content=CONTENT,
                   calendar_secret=b"calendar-secret-0123456789abcdef",
                   approved_digests=lambda _campaign: CONTENT.digests)
DIGEST_1 = load_definitions()["PERSONALIZED_EMAIL"].touch(1).content_digest
JANE = MergeFields(first_name="Jane", last_name="Doe", title="Head of Sales",
                   company_name="Acme Roofing")
CONTACT = "ck-jane"
AGG = f"personalized-email-v1-0a1b2c3d4e:{CONTACT}"
TO = "jane.doe@acmeroofing.com"
EMPTY = SenderState()


def req(key: str = "k-1", *, channel: str = "email", subject: str | None = "Hello",
        aggregate: str = AGG, contact: str = CONTACT, touch: int = 1,
        company: str | None = "cmp_8f2c1a", campaign: str | None = "camp-7",
        to_email: str | None = TO) -> TouchRequested:
    return TouchRequested(
        event_id=f"ev-{key}", occurred_at=NOW, correlation_id="corr-bit-42",
        process_id="outreach-execution-sequence-20260302-0badc0de", aggregate_id=aggregate,
        sequence_id=aggregate.split(":")[0], campaign_id=campaign, company_sov_id=company,
        contact_key=contact, touch_index=touch, channel=channel,  # type: ignore[arg-type]
        subject=subject, content_digest=DIGEST_1, to_email=to_email, due_at=NOW,
        idempotency_key=key, merge_fields=JANE)


def receipt(message_id: str = "msg-001") -> SendReceipt:
    return SendReceipt(provider="sandbox", provider_message_id=message_id, accepted_at=NOW)


def engagement(type_: str, bounce_kind: str | None = None, n: int = 1) -> EngagementRecorded:
    return EngagementRecorded(
        event_id=f"eng-{n}", occurred_at=NOW, correlation_id="corr-bit-42",
        process_id="outreach-execution-engage-20260302-0000beef", aggregate_id=AGG,
        contact_key=CONTACT, provider="sendgrid", provider_event_id=f"pe-{n}",
        type=type_, bounce_kind=bounce_kind)  # type: ignore[arg-type]


def suppressed(type_: str, bounce_kind: str | None = None) -> SenderState:
    return on_engagement(EMPTY, engagement(type_, bounce_kind))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


# --------------------------------------------------------------------------------------------
# A new email request -> SendEmail


def test_new_email_request_is_sent_with_rendered_email() -> None:
    outcome = decide_request(EMPTY, req(), CFG)
    assert isinstance(outcome, SendEmail)
    email = outcome.email
    assert isinstance(email, OutgoingEmail)
    assert email.to_email == TO
    assert email.from_email == CFG.from_email and email.from_name == CFG.from_name
    assert email.subject == "Quick question about Acme Roofing"
    assert email.aggregate_id == AGG and email.idempotency_key == "k-1"
    assert email.touch_index == 1
    assert email.custom_args == {"contact_key": CONTACT}
    assert email.unsubscribe_url == unsubscribe_url(CFG, AGG)
    assert email.unsubscribe_url in email.text_body
    assert email.text_body.startswith("Hi Jane,\n")
    assert email.html_body is not None and "<p>Hi Jane,</p>" in email.html_body


def test_unsubscribe_url_shape_and_token_verifies() -> None:
    url = decide_request(EMPTY, req(), CFG)
    assert isinstance(url, SendEmail)
    parts = urlsplit(url.email.unsubscribe_url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE
    assert parts.path == "/unsubscribe"
    q = query_of(url.email.unsubscribe_url)
    assert set(q) == {"a", "t"}
    assert q["a"] == [AGG]
    token = q["t"][0]
    assert token == unsubscribe_token(AGG, SECRET)
    expected = hmac.new(SECRET, AGG.encode(), hashlib.sha256).hexdigest()[:32]
    assert hmac.compare_digest(token, expected)
    assert len(token) == 32 and all(c in "0123456789abcdef" for c in token)


@pytest.mark.parametrize("base", [BASE, BASE + "/", "https://hub.example.com/outreach",
                                  "https://hub.example.com/outreach/", "http://127.0.0.1:6066"])
@pytest.mark.parametrize("aggregate", [AGG, "seq-a:b:c", "seq x:ck&y=z", "seq:ck%2F?#"])
def test_unsubscribe_url_round_trips(base: str, aggregate: str) -> None:
    cfg = SenderConfig(from_email="o@hub.example.com", from_name="Hub", public_base_url=base,
                       unsubscribe_secret=SECRET)
    url = unsubscribe_url(cfg, aggregate)
    assert url.startswith(base.rstrip("/") + "/unsubscribe?")
    assert "//unsubscribe" not in url
    q = query_of(url)
    assert q == {"a": [aggregate], "t": [unsubscribe_token(aggregate, SECRET)]}


@pytest.mark.parametrize("other", [b"", b"x", SECRET + b"!", SECRET[:-1], SECRET.upper()])
def test_unsubscribe_token_changes_with_the_secret(other: bytes) -> None:
    assert unsubscribe_token(AGG, other) != unsubscribe_token(AGG, SECRET)
    cfg = SenderConfig(from_email="o@hub.example.com", from_name="Hub", public_base_url=BASE,
                       unsubscribe_secret=other)
    assert query_of(unsubscribe_url(cfg, AGG))["t"] != query_of(unsubscribe_url(CFG, AGG))["t"]


@pytest.mark.parametrize("aggregate", ["seq-roofing:ck-john", "seq-other:ck-jane", AGG + "x"])
def test_unsubscribe_token_changes_with_the_aggregate(aggregate: str) -> None:
    assert unsubscribe_token(aggregate, SECRET) != unsubscribe_token(AGG, SECRET)


@given(st.text(min_size=1, max_size=60), st.binary(min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_unsubscribe_token_is_deterministic_hmac(aggregate: str, secret: bytes) -> None:
    token = unsubscribe_token(aggregate, secret)
    assert token == unsubscribe_token(aggregate, secret)
    assert token == hmac.new(secret, aggregate.encode(), hashlib.sha256).hexdigest()[:32]


# --------------------------------------------------------------------------------------------
# record_result


def test_record_result_sent_records_one_send_and_settles_the_key() -> None:
    request = req()
    decision = record_result(EMPTY, request, NOW, STABLE_IDS, receipt=receipt("msg-777"),
                             provider="sandbox")
    assert len(decision.emits) == 1
    emit = decision.emits[0]
    assert (emit.topic, emit.key) == ("send_events", CONTACT)
    event = emit.event
    assert isinstance(event, SendRecorded)
    assert event.status == "sent"
    assert event.provider == "sandbox" and event.provider_message_id == "msg-777"
    assert event.failure_reason is None
    assert event.company_sov_id == "cmp_8f2c1a" and event.campaign_id == "camp-7"
    assert event.aggregate_id == AGG and event.contact_key == CONTACT
    assert event.touch_index == 1 and event.idempotency_key == "k-1"
    assert event.correlation_id == "corr-bit-42"
    assert event.occurred_at == NOW
    assert event.process_id.startswith("outreach-execution-send-20260302-")
    assert decision.state.settled == ("k-1",)
    assert decision.state.suppressed is None
    assert Count("sender_requests_total", (("outcome", "sent"),)) in decision.effects


@pytest.mark.parametrize(("company", "campaign"), [
    ("cmp_1", "camp_1"), (None, "camp_1"), ("cmp_1", None), (None, None)])
def test_record_result_copies_company_and_campaign(company: str | None,
                                                   campaign: str | None) -> None:
    decision = record_result(EMPTY, req(company=company, campaign=campaign), NOW, STABLE_IDS,
                             receipt=receipt(), provider="sandbox")
    event = decision.emits[0].event
    assert isinstance(event, SendRecorded)
    assert (event.company_sov_id, event.campaign_id) == (company, campaign)


@pytest.mark.parametrize("channel", ["email", "phone_task"])
def test_redelivered_request_is_not_sent_again(channel: str) -> None:
    request = req(channel=channel)
    first = record_result(EMPTY, request, NOW, STABLE_IDS, receipt=receipt(), provider="sandbox")
    again = decide_request(first.state, request, CFG)
    assert isinstance(again, Decision)
    assert again.emits == ()
    assert again.state == first.state
    assert Count("sender_requests_total", (("outcome", "duplicate"),)) in again.effects


def test_redelivered_request_after_a_failure_is_not_retried() -> None:
    request = req()
    failed = record_result(EMPTY, request, NOW, STABLE_IDS, failure="permanent: 550 rejected",
                           provider="smtp")
    again = decide_request(failed.state, request, CFG)
    assert isinstance(again, Decision) and again.emits == ()


@pytest.mark.parametrize("raw", [
    f"550 5.1.1 <{TO}>: Recipient address rejected: user unknown",
    f"bounce for {TO}; mailbox full",
    "421 4.7.0 try again later",
    "sendgrid timed out",
])
def test_record_result_failure_records_failed_and_out_003(raw: str) -> None:
    failure = f"permanent: {scrub(raw)}"  # what the shell passes: adapters scrub provider text
    request = req()
    decision = record_result(EMPTY, request, NOW, STABLE_IDS, failure=failure, provider="smtp")
    assert [(e.topic, e.key) for e in decision.emits] == [("send_events", CONTACT),
                                                          ("errors", CONTACT)]
    sent, error = (e.event for e in decision.emits)
    assert isinstance(sent, SendRecorded) and isinstance(error, OutreachErrorRaised)
    assert sent.status == "failed" and sent.failure_reason == failure
    assert sent.provider_message_id is None and sent.provider == "smtp"
    assert error.code == "OUT-003" and error.severity == "medium"
    assert error.stage == "sender"
    assert error.reason == failure
    assert TO not in error.reason and TO not in (sent.failure_reason or "")
    assert TO not in error.model_dump_json() and TO not in sent.model_dump_json()
    assert error.correlation_id == "corr-bit-42"
    assert error.process_id == sent.process_id
    assert error.subject_id == AGG
    assert error.record == {"aggregate_id": AGG, "touch_index": 1, "idempotency_key": "k-1"}
    assert error.event_id != sent.event_id
    assert decision.state.settled == ("k-1",)
    assert Count("sender_requests_total", (("outcome", "failed"),)) in decision.effects


def test_phone_task_is_recorded_without_sending() -> None:
    request = req(channel="phone_task", to_email=None)
    outcome = decide_request(EMPTY, request, CFG)
    assert outcome == RecordWithoutSending("task-queue")
    decision = record_result(EMPTY, request, NOW, STABLE_IDS, provider=outcome.provider)
    assert len(decision.emits) == 1
    event = decision.emits[0].event
    assert isinstance(event, SendRecorded)
    assert (event.status, event.provider, event.provider_message_id) == ("sent", "task-queue",
                                                                         None)
    assert decision.state.settled == ("k-1",)


# --------------------------------------------------------------------------------------------
# Suppression

SUPPRESSION_TABLE: list[tuple[str, str | None, str | None]] = [
    ("unsubscribed", None, "unsubscribed"),
    ("complained", None, "complained"),
    ("bounced", "hard", "bounced"),
    ("bounced", "soft", None),
    ("bounced", None, None),
    ("opened", None, None),
    ("clicked", None, None),
    ("replied", None, None),
    ("auto_replied", None, None),
    ("delivered", None, None),
    ("meeting_booked", None, None),
]


@pytest.mark.parametrize(("type_", "kind", "label"), SUPPRESSION_TABLE)
def test_on_engagement_suppression_table(type_: str, kind: str | None,
                                         label: str | None) -> None:
    state = suppressed(type_, kind)
    assert state.suppressed == label
    if label is None:
        assert state == EMPTY


@pytest.mark.parametrize(("type_", "kind", "label"),
                         [row for row in SUPPRESSION_TABLE if row[2] is not None])
@pytest.mark.parametrize("channel", ["email", "phone_task"])
def test_suppressed_address_gets_nothing(type_: str, kind: str | None, label: str,
                                         channel: str) -> None:
    state = suppressed(type_, kind)
    request = req("k-next", channel=channel)
    outcome = decide_request(state, request, CFG)
    assert outcome == RecordWithoutSending("suppression-list")
    decision = record_result(state, request, NOW, STABLE_IDS, provider=outcome.provider)
    assert [(e.topic, e.key) for e in decision.emits] == [("send_events", CONTACT)]
    event = decision.emits[0].event
    assert isinstance(event, SendRecorded)
    assert event.status == "failed" and event.provider == "suppression-list"
    assert event.failure_reason is not None
    assert "suppress" in event.failure_reason and label in event.failure_reason
    assert not any(isinstance(e.event, OutreachErrorRaised) for e in decision.emits)
    assert decision.state.suppressed == label
    assert "k-next" in decision.state.settled


@pytest.mark.parametrize(("type_", "kind", "label"),
                         [row for row in SUPPRESSION_TABLE if row[2] is None])
def test_non_suppressing_events_leave_sending_alone(type_: str, kind: str | None,
                                                    label: None) -> None:
    assert isinstance(decide_request(suppressed(type_, kind), req(), CFG), SendEmail)


def test_suppression_is_sticky_and_keeps_the_first_reason() -> None:
    state = suppressed("unsubscribed")
    for type_, kind in [("complained", None), ("bounced", "hard"), ("opened", None),
                        ("replied", None), ("bounced", "soft")]:
        state = on_engagement(state, engagement(type_, kind))
    assert state.suppressed == "unsubscribed"


def test_suppression_wins_over_a_provider_failure() -> None:
    state = suppressed("complained")
    decision = record_result(state, req(), NOW, STABLE_IDS, failure="permanent: 550 blocked",
                             provider="smtp")
    assert len(decision.emits) == 1
    event = decision.emits[0].event
    assert isinstance(event, SendRecorded) and event.status == "failed"
    assert event.failure_reason == "address suppressed (complained)"


# --------------------------------------------------------------------------------------------
# Stable ids, bounded keys


def event_ids(decision: Decision[SenderState]) -> list[str]:
    return [e.event.event_id for e in decision.emits]  # type: ignore[attr-defined]


@pytest.mark.parametrize("later", [timedelta(0), timedelta(seconds=1), timedelta(hours=5),
                                   timedelta(days=3)])
@pytest.mark.parametrize("outcome", ["sent", "failed"])
def test_event_ids_are_stable_across_retries(later: timedelta, outcome: str) -> None:
    args: dict[str, Any] = ({"receipt": receipt()} if outcome == "sent"
                            else {"failure": "permanent: nope"})
    a = record_result(EMPTY, req(), NOW, STABLE_IDS, provider="sandbox", **args)
    b = record_result(EMPTY, req(), NOW + later, STABLE_IDS, provider="sandbox", **args)
    assert event_ids(a) == event_ids(b)
    assert event_ids(a)[0] == STABLE_IDS.event_id("send-recorded", "k-1")
    if outcome == "failed":
        assert event_ids(a)[1] == STABLE_IDS.event_id("send-failed", "k-1")
    for emit in (*a.emits, *b.emits):
        assert re.match(PROCESS_ID_PATTERN, emit.event.process_id)  # type: ignore[attr-defined]


def test_event_ids_differ_per_idempotency_key() -> None:
    ids = {event_ids(record_result(EMPTY, req(f"k-{i}"), NOW, STABLE_IDS, receipt=receipt(),
                                   provider="sandbox"))[0] for i in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("extra", [0, 1, 10, KEYS_KEPT])
def test_settled_keys_are_bounded_and_keep_the_newest(extra: int) -> None:
    state = EMPTY
    keys = [f"key-{i:03d}" for i in range(KEYS_KEPT + extra)]
    for key in keys:
        state = record_result(state, req(key), NOW, STABLE_IDS, receipt=receipt(),
                              provider="sandbox").state
    assert len(state.settled) == KEYS_KEPT
    assert state.settled == tuple(keys[-KEYS_KEPT:])
    assert isinstance(decide_request(state, req(keys[-1]), CFG), Decision)
    assert isinstance(decide_request(state, req(keys[-KEYS_KEPT]), CFG), Decision)
    if extra:
        assert keys[extra - 1] not in state.settled


# --------------------------------------------------------------------------------------------
# Property: at most one send per key, none after suppression

ENGAGEMENT_TYPES = [("opened", None), ("replied", None), ("bounced", "soft"),
                    ("delivered", None), ("auto_replied", None), ("clicked", None),
                    ("unsubscribed", None), ("complained", None), ("bounced", "hard")]
STEP = st.one_of(
    st.tuples(st.just("request"), st.integers(0, 9), st.sampled_from(["email", "phone_task"]),
              st.sampled_from(["ok", "fail"])),
    st.tuples(st.just("engagement"), st.sampled_from(ENGAGEMENT_TYPES)),
)


@given(st.lists(STEP, max_size=40))
@settings(max_examples=200, deadline=None)
def test_each_key_is_sent_at_most_once_and_never_after_suppression(steps: list[Any]) -> None:
    state = EMPTY
    sent_keys: list[str] = []
    recorded: dict[str, int] = {}
    suppressed_at: int | None = None
    for i, step in enumerate(steps):
        if step[0] == "engagement":
            type_, kind = step[1]
            state = on_engagement(state, engagement(type_, kind, n=i))
            if suppressed_at is None and (type_ in ("unsubscribed", "complained")
                                          or kind == "hard"):
                suppressed_at = i
            continue
        _, n, channel, result = step
        request = req(f"k-{n}", channel=channel)
        outcome = decide_request(state, request, CFG)
        if isinstance(outcome, Decision):
            assert outcome.emits == ()
            state = outcome.state
            continue
        if isinstance(outcome, SendEmail):
            assert suppressed_at is None, "an email went out after a suppressing event"
            sent_keys.append(request.idempotency_key)
            kwargs: dict[str, Any] = ({"receipt": receipt(f"m-{i}")} if result == "ok"
                                      else {"failure": "permanent: rejected"})
            decision = record_result(state, request, NOW, STABLE_IDS, provider="sandbox",
                                     **kwargs)
        else:
            assert outcome.provider == ("suppression-list" if suppressed_at is not None
                                        else "task-queue")
            decision = record_result(state, request, NOW, STABLE_IDS, provider=outcome.provider)
        recorded[request.idempotency_key] = recorded.get(request.idempotency_key, 0) + 1
        state = decision.state
    assert len(sent_keys) == len(set(sent_keys))
    assert all(count == 1 for count in recorded.values())
