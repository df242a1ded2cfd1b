"""The sending-domain view: the latest domain verdict by evaluation time decides, whatever
partition (campaign) its copy came on; campaign verdicts never pause a domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.contracts.models import CampaignHealthEvaluated
from streams.kernel.domain_health import DomainHealthView
from streams.kernel.kafka_security import PLAINTEXT

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def verdict(kind: str, minutes: int, *, scope: str = "domain", campaign: str = "cmp-a",
            domain: str = "Mail.Example.com") -> CampaignHealthEvaluated:
    at = T0 + timedelta(minutes=minutes)
    return CampaignHealthEvaluated(
        event_id=f"hv-{kind}-{minutes}-{campaign}", occurred_at=at, correlation_id="c",
        process_id="outreach-execution-campaign-20261130-0a1b2c3d",
        verdict_id=f"hv-{kind}-{minutes}", campaign_id=campaign, sending_domain=domain,
        scope=scope, window_start=at - timedelta(days=7), window_end=at, sends=400,
        hard_bounces=30 if kind == "PAUSE" else 0, complaints=0, opens=100, replies=10,
        bounce_rate=0.075 if kind == "PAUSE" else 0.0, complaint_rate=0.0,
        engagement_rate=0.275, verdict=kind, evaluated_at=at)


def view_after(*verdicts: CampaignHealthEvaluated) -> DomainHealthView:
    view = DomainHealthView("outreach.campaign.health", "unused:0", security=PLAINTEXT)
    for v in verdicts:
        view.apply(v)
    return view


@pytest.mark.parametrize(("history", "paused_by"), [
    ([], None),
    ([verdict("PAUSE", 0)], "hv-PAUSE-0"),
    ([verdict("PAUSE", 0), verdict("HEALTHY", 5)], None),
    ([verdict("PAUSE", 0), verdict("REVIEW", 5)], None),
    # Copies of one verdict on several campaigns' partitions: the same pause.
    ([verdict("PAUSE", 0, campaign="cmp-a"), verdict("PAUSE", 0, campaign="cmp-b")],
     "hv-PAUSE-0"),
    # A copy read late from another partition does not undo a newer verdict.
    ([verdict("HEALTHY", 5, campaign="cmp-b"), verdict("PAUSE", 0, campaign="cmp-a")], None),
    ([verdict("PAUSE", 9, campaign="cmp-b"), verdict("HEALTHY", 5, campaign="cmp-a")],
     "hv-PAUSE-9"),
    # A campaign's own verdict says nothing about its domain.
    ([verdict("PAUSE", 0, scope="campaign")], None),
    ([verdict("PAUSE", 0), verdict("HEALTHY", 5, scope="campaign")], "hv-PAUSE-0"),
])
def test_the_latest_domain_verdict_decides(history: list[CampaignHealthEvaluated],
                                           paused_by: str | None) -> None:
    assert view_after(*history).pause("mail.example.com") == paused_by


def test_domains_are_matched_without_case_and_kept_apart() -> None:
    view = view_after(verdict("PAUSE", 0), verdict("HEALTHY", 1, domain="other.example"))
    assert view.pause("MAIL.example.COM") == "hv-PAUSE-0"
    assert view.pause("other.example") is None
    assert view.pause("never-seen.example") is None
