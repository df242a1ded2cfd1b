"""Any interleaving of requests, crashes mid-send, evidence, redeliveries and timer ticks: one
person's touches reach the provider at most once each (twice only under "resend" with no
evidence delivered first), never a later touch before an earlier unresolved one, and once the
crashes stop every touch is settled (under "resend", every touch reached the provider)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.sender.content import ContentLibrary
from agents.sender.core import (
    UNKNOWN_OUTCOME,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
    on_evidence,
    record_result,
)
from agents.sender.email import SendReceipt
from agents.sender.inflight import UnknownOutcomePolicy, renudge
from agents.sequencer.definition import load_definitions, load_templates
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import MergeFields, TouchRequested

T0 = datetime(2026, 11, 25, 15, tzinfo=UTC)
BOUND = timedelta(minutes=10)
CONTENT = ContentLibrary.of(load_templates())
CFG = SenderConfig(from_email="outreach@hub.example", from_name="Hub",
                   public_base_url="https://hub.example", unsubscribe_secret=b"s" * 32,
                   calendar_secret=b"c" * 32,
                   content=CONTENT, approved_digests=lambda _campaign: CONTENT.digests)
SEQUENCE = load_definitions()["PERSONALIZED_EMAIL"]
TOUCHES = 3


def touch(n: int) -> TouchRequested:
    return TouchRequested(
        event_id=f"e{n}", occurred_at=T0, correlation_id="c",
        process_id="outreach-execution-sequence-20261125-0a1b2c3d", aggregate_id="seq-1:ck",
        sequence_id="seq-1", contact_key="ck", touch_index=n, channel="email", subject="Hi",
        to_email="jane@acme.example", due_at=T0, idempotency_key=f"k{n}",
        content_digest=SEQUENCE.touch(n).content_digest,
        merge_fields=MergeFields(first_name="Jane", title="CEO", company_name="Acme"))


@dataclass
class World:
    """One person's partition: three input topics (requests, provider events, the hub's own
    send records), a committed offset per topic, the durable table state, the provider."""

    policy: UnknownOutcomePolicy
    now: datetime = T0
    logs: dict[str, list[Any]] = field(
        default_factory=lambda: {"requests": [], "events": [], "records": []})
    read: dict[str, int] = field(default_factory=lambda: {"requests": 0, "events": 0, "records": 0})
    committed: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "events": 0, "records": 0})
    state: SenderState = field(default_factory=SenderState)
    calls: dict[str, int] = field(default_factory=dict)
    accepted: list[str] = field(default_factory=list)  # keys the provider has, events pending
    evidence_seen: set[str] = field(default_factory=set)
    called_at: dict[str, datetime] = field(default_factory=dict)
    requested: list[int] = field(default_factory=list)

    def emit(self, emits: tuple[Emit, ...]) -> None:
        for e in emits:
            if e.topic == "send_requests":
                self.logs["requests"].append(e.event)
            elif e.topic == "send_events":
                self.logs["records"].append(e.event)

    def decided(self, topic: str, decision: Decision[SenderState]) -> None:
        self.emit(decision.emits)
        self.state = decision.state
        self.read[topic] += 1

    def crash(self) -> None:
        self.read = dict(self.committed)  # uncommitted records are delivered again

    def provider_call(self, key: str) -> None:
        n = int(key[1:])
        for earlier in range(1, n):
            if earlier in self.requested:
                assert f"k{earlier}" in self.state.settled, "a later touch went first"
        if self.calls.get(key):
            assert self.policy.policy == "resend" and key not in self.evidence_seen, \
                "sent twice without the policy's leave"
            assert self.now - self.called_at[key] >= self.policy.after, "resent before the bound"
        self.called_at[key] = self.now
        self.calls[key] = self.calls.get(key, 0) + 1
        self.accepted.append(key)

    def step_request(self, crash_at: int | None) -> None:
        if self.read["requests"] >= len(self.logs["requests"]):
            return
        request = self.logs["requests"][self.read["requests"]]
        outcome = decide_request(self.state, request, CFG, now=self.now, unknown=self.policy)
        if isinstance(outcome, Decision):
            return self.decided("requests", outcome)
        if isinstance(outcome, RecordWithoutSending):
            return self.decided("requests", record_result(
                self.state, request, self.now, STABLE_IDS, provider=outcome.provider,
                failure=UNKNOWN_OUTCOME))
        assert isinstance(outcome, SendEmail)
        self.state = outcome.marked.state  # MarkInFlight: durable before the call
        if crash_at == 0:
            return self.crash()
        self.provider_call(request.idempotency_key)
        if crash_at == 1:
            return self.crash()
        receipt = SendReceipt(provider="p", provider_message_id="m", accepted_at=self.now)
        result = record_result(outcome.marked.state, request, self.now, STABLE_IDS,
                               receipt=receipt, provider="p")
        self.emit(result.emits)
        if crash_at == 2:
            return self.crash()
        self.state = result.state
        self.read["requests"] += 1

    def step_evidence(self, topic: str) -> None:
        if self.read[topic] >= len(self.logs[topic]):
            return
        item = self.logs[topic][self.read[topic]]
        own = topic == "records"
        key = item.idempotency_key if own else item
        self.evidence_seen.add(key)
        self.decided(topic, on_evidence(self.state, key, None, self.now, STABLE_IDS,
                                        provider="p", recorded=own))

    def act(self, action: tuple[str, int]) -> None:
        kind, arg = action
        if kind == "request" and len(self.requested) < TOUCHES:
            self.requested.append(len(self.requested) + 1)
            self.logs["requests"].append(touch(len(self.requested)))
        elif kind == "process":
            self.step_request(None)
        elif kind == "crash_during_send":
            self.step_request(arg % 3)
        elif kind == "provider_event" and self.accepted:
            self.logs["events"].append(self.accepted[arg % len(self.accepted)])
        elif kind in ("events", "records"):
            self.step_evidence(kind)
        elif kind == "redeliver" and self.logs["requests"]:
            self.logs["requests"].append(self.logs["requests"][arg % len(self.logs["requests"])])
        elif kind == "commit":
            self.committed = dict(self.read)
        elif kind == "tick":
            self.now += timedelta(minutes=arg % 15)
            nudge = renudge(self.state, self.now, self.policy.after)
            if nudge is not None:
                self.emit((nudge,))

    def drain(self) -> None:
        """No more crashes: read everything, let time pass, until nothing changes."""
        for _ in range(50):
            before = (dict(self.read), {k: len(v) for k, v in self.logs.items()}, self.state)
            for topic in ("records", "events", "requests"):
                while self.read[topic] < len(self.logs[topic]):
                    self.step_evidence(topic) if topic != "requests" else self.step_request(None)
            self.act(("tick", 11))
            if before == (dict(self.read), {k: len(v) for k, v in self.logs.items()},
                          self.state):
                return


ACTIONS = st.lists(st.tuples(
    st.sampled_from(["request", "process", "crash_during_send", "provider_event", "events",
                     "records", "redeliver", "commit", "tick"]),
    st.integers(0, 30)), max_size=40)


@settings(max_examples=1000, deadline=None)
@given(actions=ACTIONS, policy=st.sampled_from(["resend", "fail"]))
def test_no_touch_twice_without_leave_none_out_of_order_none_left(
        actions: list[tuple[str, int]], policy: str) -> None:
    world = World(UnknownOutcomePolicy(policy, BOUND))  # type: ignore[arg-type]
    for action in actions:
        world.act(action)
    world.drain()
    for n in world.requested:
        assert f"k{n}" in world.state.settled, "a requested touch was left unsettled"
        if policy == "resend":
            assert world.calls.get(f"k{n}", 0) >= 1, "a requested touch never reached the provider"
    assert world.state.in_flight == () and world.state.waiting == ()
