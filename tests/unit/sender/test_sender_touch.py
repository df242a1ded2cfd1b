"""The sender shell's one question, answered by the core: a touch is sent or recorded, a report
settles what it names, the unknown-outcome policy is the provider's unless one is chosen."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from agents.sender.core import SendEmail, SenderConfig, SenderState
from agents.sender.touch import (
    RefusedOnViews,
    decide_touch,
    refused_at_call,
    unknown_outcome_policy,
)
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import TouchRequested
from tests.unit.sender.test_sender_in_flight import CFG, RESEND, T0, touch


@pytest.mark.parametrize(("provider", "chosen", "policy"), [
    ("smtp", None, "resend"), ("sandbox", None, "resend"), ("sendgrid", None, "fail"),
    ("unknown", None, "fail"), ("sendgrid", "resend", "resend"), ("smtp", "fail", "fail"),
])
def test_the_policy_is_the_provider_default_unless_chosen(
        provider: str, chosen: str | None, policy: str) -> None:
    got = unknown_outcome_policy(provider, chosen, 600, 60)
    assert got.policy == policy
    assert got.after == timedelta(seconds=600 * 60)  # wall seconds, in hub time


def test_a_new_touch_is_sent_and_a_refused_one_is_recorded_failed() -> None:
    sent = decide_touch(SenderState(), touch(1), CFG, None, T0, STABLE_IDS, "smtp", RESEND)
    assert isinstance(sent, SendEmail)
    refused = decide_touch(SenderState(), touch(1), CFG, "campaign_not_active", T0, STABLE_IDS,
                           "smtp", RESEND)
    assert isinstance(refused, RefusedOnViews)
    statuses = [getattr(e.event, "status", None) for e in refused.decision.emits]
    assert "failed" in statuses
    assert touch(1).idempotency_key in refused.decision.state.settled


NOTHING_APPROVED = replace(CFG, approved_digests=lambda _c: None)
OTHER_APPROVED = replace(CFG, approved_digests=lambda _c: frozenset({"sha256:" + "0" * 64}))
SUPPRESSED = SenderState(suppressed="unsubscribed")


@pytest.mark.parametrize(("state", "request_", "cfg", "campaign", "on_views", "failure"), [
    # What this worker's campaign-status view says: the shell may catch it up and ask again.
    (SenderState(), touch(1), CFG, "campaign_not_active", True, "campaign_not_active"),
    (SenderState(), touch(1), CFG, "outside_window", True, "outside_window"),
    (SenderState(), touch(1), NOTHING_APPROVED, None, True, "campaign_not_approved"),
    (SenderState(), touch(1), OTHER_APPROVED, None, True, "content_digest_not_approved"),
    # Not the view's to change: recorded at once, no wait.
    (SUPPRESSED, touch(1), CFG, None, False, None),
    (SenderState(), touch(1).model_copy(update={"to_email": "not an address"}), CFG, None,
     False, "cannot render"),
])
def test_only_a_refusal_read_off_the_campaign_view_asks_for_a_catch_up(
        state: SenderState, request_: TouchRequested, cfg: SenderConfig, campaign: str | None,
        on_views: bool, failure: str | None) -> None:
    outcome = decide_touch(state, request_, cfg, campaign, T0, STABLE_IDS, "smtp", RESEND)
    assert isinstance(outcome, RefusedOnViews) is on_views
    decision = outcome.decision if isinstance(outcome, RefusedOnViews) else outcome
    assert isinstance(decision, Decision)
    failed = [e.event for e in decision.emits if getattr(e.event, "status", None) == "failed"]
    assert len(failed) == 1
    if failure is not None:
        assert failure in (getattr(failed[0], "failure_reason", None) or "")


def test_content_unknown_to_this_worker_is_refused_without_a_catch_up() -> None:
    unknown = "sha256:" + "0" * 64
    stranger = touch(1).model_copy(update={"sequence_id": "other-1", "content_digest": unknown})
    everything = replace(CFG, approved_digests=lambda _c: frozenset({unknown}))
    outcome = decide_touch(SenderState(), stranger, everything, None, T0, STABLE_IDS, "smtp",
                           RESEND)
    assert isinstance(outcome, Decision)  # template_unknown: no view would change it


def test_a_campaign_paused_before_the_call_refuses_the_touch_and_settles_its_marker() -> None:
    sent = decide_touch(SenderState(), touch(1), CFG, None, T0, STABLE_IDS, "smtp", RESEND)
    assert isinstance(sent, SendEmail)
    marked, key = sent.marked.state, touch(1).idempotency_key
    assert marked.flight(key) is not None
    assert refused_at_call(marked, touch(1), None, T0, STABLE_IDS) is None  # still active
    refused = refused_at_call(marked, touch(1), "campaign_not_active: paused", T0, STABLE_IDS)
    assert refused is not None
    assert refused.state.flight(key) is None and key in refused.state.settled
    [recorded] = [e.event for e in refused.emits if e.topic == "send_events"]
    assert (recorded.status, recorded.provider) == ("failed", "campaign-gate")
    assert "campaign_not_active" in (recorded.failure_reason or "")
