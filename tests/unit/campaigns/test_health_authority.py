"""Health is authority: a PAUSE verdict pauses the campaign; a later HEALTHY or REVIEW verdict
asks nothing of it; resume is refused; only an approval overriding that verdict lifts it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.contracts.models import ApprovalTerms, CampaignHealthEvaluated
from streams.shells.campaigns import health_command
from tests.unit.campaigns.helpers import CID, NOW, command, run, state_in


def _verdict(verdict: str, verdict_id: str = "hv-9") -> CampaignHealthEvaluated:
    return CampaignHealthEvaluated(
        event_id=verdict_id, occurred_at=NOW, correlation_id="corr-1",
        process_id="outreach-execution-campaign-20260302-0badc0de", verdict_id=verdict_id,
        campaign_id=CID, sending_domain="hub.example", window_start=NOW - timedelta(hours=1),
        window_end=NOW, sends=1000, hard_bounces=0, complaints=3 if verdict == "PAUSE" else 0,
        opens=300, replies=10, bounce_rate=0.0,
        complaint_rate=0.003 if verdict == "PAUSE" else 0.0, engagement_rate=0.31,
        verdict=verdict, reasons=("complaint rate 0.30% >= 0.10%",), evaluated_at=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("verdict", ["HEALTHY", "REVIEW"])
def test_only_a_pause_verdict_asks_anything_of_the_campaign(verdict: str) -> None:
    assert health_command(_verdict(verdict)) is None


def test_a_pause_holds_until_an_approval_overrides_that_verdict() -> None:
    pause = health_command(_verdict("PAUSE"))
    assert pause is not None and pause.actor == "system:health"
    paused = run(state_in("active"), pause).state
    assert paused.state == "paused" and paused.health_verdict_id == "hv-9"

    refused = run(paused, command("resume"))
    assert refused.state.state == "paused"
    assert "only a new approval" in refused.emits[0].event.reason  # type: ignore[attr-defined]

    plain = run(paused, command("approve"))
    assert plain.state.state == "paused"
    override = run(paused, command(
        "approve", approval=ApprovalTerms(overrides_health_verdict_id="hv-9")))
    assert override.state.state == "active" and override.state.health_verdict_id is None
    moved = override.emits[0].event
    assert moved.approval.overrides_health_verdict_id == "hv-9"  # type: ignore[attr-defined]
