"""A worker that dies during the provider call does not send that email again."""

from datetime import UTC, datetime

from agents.sender.content import ContentLibrary
from agents.sender.core import (
    IN_FLIGHT_AT_RESTART,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
    record_result,
)
from agents.sequencer.definition import load_definitions, load_templates
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import MergeFields, TouchRequested

T0 = datetime(2026, 11, 25, 15, tzinfo=UTC)
CONTENT = ContentLibrary.of(load_templates())
CFG = SenderConfig(from_email="outreach@hub.example", from_name="Hub",
                   public_base_url="https://hub.example", unsubscribe_secret=b"s" * 32,
                   calendar_secret=b"c" * 32,
                   content=CONTENT, approved_digests=lambda _campaign: CONTENT.digests)
REQUEST = TouchRequested(
    event_id="e", occurred_at=T0, correlation_id="c",
    process_id="outreach-execution-sequence-20261125-0a1b2c3d", aggregate_id="seq-1:ck",
    sequence_id="seq-1", contact_key="ck", touch_index=1, channel="email", subject="Hi",
    to_email="jane@acme.example", due_at=T0, idempotency_key="seq-1:ck:step1",
    content_digest=load_definitions()["PERSONALIZED_EMAIL"].touch(1).content_digest,
    merge_fields=MergeFields(first_name="Jane", title="CEO", company_name="Acme"))


def test_a_request_in_flight_at_a_restart_is_recorded_not_resent() -> None:
    fresh = SenderState()
    assert isinstance(decide_request(fresh, REQUEST, CFG), SendEmail)
    crashed = fresh.model_copy(update={"in_flight": REQUEST.idempotency_key})
    outcome = decide_request(crashed, REQUEST, CFG)
    assert outcome == RecordWithoutSending(IN_FLIGHT_AT_RESTART)
    decision = record_result(crashed, REQUEST, T0, STABLE_IDS, provider=IN_FLIGHT_AT_RESTART,
                             failure="outcome unknown")
    kinds = [(e.topic, getattr(e.event, "status", None) or e.event.code) for e in decision.emits]
    assert kinds == [("send_events", "failed"), ("errors", "OUT-003")]
    assert decision.state.in_flight is None
    assert REQUEST.idempotency_key in decision.state.settled


def test_another_request_is_not_held_by_an_unrelated_marker() -> None:
    state = SenderState(in_flight="seq-9:ck:step4")
    assert isinstance(decide_request(state, REQUEST, CFG), SendEmail)
