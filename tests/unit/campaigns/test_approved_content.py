"""The digests a draft offers for approval are those of the template files the sender renders,
so an approved campaign's touches go out, and only while its approval is in force."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.campaigns.aggregate import CampaignAggregate, CampaignPolicy, EligibilityFacts
from agents.campaigns.launch import decide
from agents.sender.content import ContentLibrary
from agents.sender.core import (
    CONTENT_REFUSED,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
)
from agents.sequencer.definition import load_definitions, load_templates
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    CampaignCommand,
    CampaignStateChanged,
    LeadGated,
    MergeFields,
    TouchRequested,
)
from streams.kernel.campaign_status import CampaignStatusView
from streams.kernel.kafka_security import PLAINTEXT
from streams.shells.campaigns import draft_content, request_for

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
DEFS = load_definitions()
CONTENT = ContentLibrary.of(load_templates())


def _verdict(strategy: str) -> LeadGated:
    return LeadGated(event_id="gate-1", occurred_at=NOW, correlation_id="corr-1",
                     process_id="outreach-execution-campaign-20260302-0badc0de", lead_id="lead-1",
                     batch_id="b-1", company_sov_id="cmp_8f2c1a", bit_score=90.0,
                     score_evaluated_at=NOW, verdict="ALLOW", tier="HOT", strategy=strategy,
                     reasons=(), error_code=None)


def _touch(campaign_id: str, strategy: str, index: int = 1) -> TouchRequested:
    run = f"{DEFS[strategy].sequence_id}-1"
    return TouchRequested(
        event_id="ev-1", occurred_at=NOW, correlation_id="corr-1",
        process_id="outreach-execution-sequence-20260302-0badc0de",
        aggregate_id=f"{run}:ck-jane", sequence_id=run, campaign_id=campaign_id,
        company_sov_id="cmp_8f2c1a", contact_key="ck-jane", touch_index=index, channel="email",
        subject=DEFS[strategy].touch(index).subject,
        content_digest=DEFS[strategy].touch(index).content_digest,
        to_email="jane.doe@acmeroofing.com", due_at=NOW, idempotency_key=f"k-{index}",
        merge_fields=MergeFields(first_name="Jane", last_name="Doe", title="Head of Sales",
                                 company_name="Acme Roofing"))


def _view_after(*commands: CampaignCommand) -> CampaignStatusView:
    view = CampaignStatusView("campaign-events", "", security=PLAINTEXT)
    state = CampaignAggregate(campaign_id=commands[0].campaign_id)
    for command in commands:
        decision = decide(state, command, NOW, CampaignPolicy(), EligibilityFacts(), STABLE_IDS)
        state = decision.state
        for emit in decision.emits:
            if isinstance(emit.event, CampaignStateChanged):
                view.apply(emit.event)
    return view


@pytest.mark.parametrize("strategy", ["PERSONALIZED_EMAIL", "PHONE_AND_EMAIL"])
def test_a_drafts_digests_are_its_sequences_template_digests(strategy: str) -> None:
    sequence_id, digests = draft_content(DEFS)[strategy]
    rendered = {d for (seq, _), d in CONTENT.by_touch.items() if seq == sequence_id}
    assert set(digests) == rendered
    command = request_for(_verdict(strategy), draft_content(DEFS))
    assert command is not None and command.approval is not None
    assert command.approval.content_digests == digests


def _cfg(view: CampaignStatusView) -> SenderConfig:
    return SenderConfig(from_email="outreach@hub.example.com", from_name="Outreach Hub",
                        public_base_url="https://hub.example.com", unsubscribe_secret=b"u" * 32,
                        calendar_secret=b"c" * 32, content=CONTENT,
                        approved_digests=view.approved_digests)


def test_the_sender_sends_what_the_approval_in_force_binds_and_nothing_before() -> None:
    request = request_for(_verdict("PERSONALIZED_EMAIL"), draft_content(DEFS))
    assert request is not None
    cid = request.campaign_id
    draft = _view_after(request)
    assert draft.approved_digests(cid) is None
    held = decide_request(SenderState(), _touch(cid, "PERSONALIZED_EMAIL"), _cfg(draft))
    assert held == RecordWithoutSending(CONTENT_REFUSED, failure="campaign_not_approved")

    approve = CampaignCommand(command_id="op-1", command="approve", campaign_id=cid,
                              actor="operator:ann", issued_at=NOW)
    active = _view_after(request, approve)
    assert active.approved_digests(cid) == frozenset(draft_content(DEFS)["PERSONALIZED_EMAIL"][1])
    sent = decide_request(SenderState(), _touch(cid, "PERSONALIZED_EMAIL"), _cfg(active))
    assert isinstance(sent, SendEmail)
    assert sent.email.text_body.startswith("Hi Jane,")

    pause = CampaignCommand(command_id="op-2", command="pause", campaign_id=cid,
                            actor="operator:ann", issued_at=NOW)
    assert _view_after(request, approve, pause).approved_digests(cid) is None
