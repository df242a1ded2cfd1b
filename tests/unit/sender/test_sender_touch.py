"""The sender shell's one question, answered by the core: a touch is sent or recorded, a report
settles what it names, the unknown-outcome policy is the provider's unless one is chosen."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.sender.core import SendEmail, SenderState
from agents.sender.touch import decide_touch, unknown_outcome_policy
from streams.contracts.decision import Decision
from streams.contracts.ids import STABLE_IDS
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
    assert isinstance(refused, Decision)
    statuses = [getattr(e.event, "status", None) for e in refused.emits]
    assert "failed" in statuses
    assert touch(1).idempotency_key in refused.state.settled
