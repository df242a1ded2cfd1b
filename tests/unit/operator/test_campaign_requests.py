"""The operator API's decisions: who may call, which command a POST makes, what it answers,
and how the hub's verdict on a command is found by its id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from streams.contracts.models.campaign import CampaignCommandRejected, CampaignStateChanged
from streams.kernel.campaign_outcomes import CampaignOutcomes, Outcome, outcome_of
from streams.kernel.kafka_security import PLAINTEXT
from streams.kernel.operator_tokens import parse_tokens
from streams.operator.campaign_requests import (
    Refusal,
    answer,
    authenticate,
    command_from,
    list_filter,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ANN = "ann-token-0123456789abcdef"
TOKENS = parse_tokens(f"ann:{ANN}")
HUB = {"event_id": "e-1", "occurred_at": NOW, "correlation_id": "c-1",
       "process_id": "outreach-execution-campaign-20260302-0123abcd"}


def refused(call: object, *args: object) -> Refusal:
    with pytest.raises(Refusal) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


@pytest.mark.parametrize(("tokens", "header", "status"), [
    (TOKENS, None, 401),
    (TOKENS, "Bearer wrong-token-0123456789abcdef", 401),
    (TOKENS, f"Basic {ANN}", 401),
    (parse_tokens(None), f"Bearer {ANN}", 503),
])
def test_a_missing_unknown_or_unconfigured_credential_is_refused(
    tokens: object, header: str | None, status: int
) -> None:
    refusal = refused(authenticate, tokens, header)
    assert refusal.status == status
    assert ANN not in refusal.reason


def test_a_known_token_is_its_operator() -> None:
    assert authenticate(TOKENS, f"Bearer {ANN}") == "ann"


def test_the_command_is_the_tokens_operators() -> None:
    cmd = command_from("approve", "cmp-1", {
        "operator": "ann", "note": "looks right", "draft_version": 2,
        "approval": {"window_start": "2026-03-02T09:00:00Z",
                     "window_end": "2026-03-09T17:00:00Z",
                     "max_sends_per_hour": 20, "max_sends_per_day": 100}},
        "ann", "op-0123456789", NOW)
    assert (cmd.command, cmd.campaign_id, cmd.actor, cmd.command_id) == (
        "approve", "cmp-1", "operator:ann", "op-0123456789")
    assert cmd.issued_at == NOW and cmd.note == "looks right" and cmd.draft_version == 2
    assert cmd.approval is not None
    assert (cmd.approval.max_sends_per_hour, cmd.approval.max_sends_per_day) == (20, 100)
    assert cmd.approval.approved_by is None  # the hub sets it, from the actor


def test_a_body_naming_another_operator_is_refused() -> None:
    refusal = refused(command_from, "pause", "cmp-1", {"operator": "bob"}, "ann", "op-12345678",
                      NOW)
    assert refusal.status == 403
    assert "ann" in refusal.reason and "bob" in refusal.reason


def test_the_callers_command_id_is_kept_so_a_retry_waits_for_the_same_verdict() -> None:
    cmd = command_from("pause", "cmp-1", {"command_id": "cli-abcdef12"}, "ann", "op-x1234567", NOW)
    assert cmd.command_id == "cli-abcdef12"


@pytest.mark.parametrize(("verb", "body", "status", "says"), [
    ("launch", {}, 404, "no such command: launch"),
    ("approve", [], 400, "JSON object"),
    ("approve", {"actor": "operator:root"}, 400, "unknown field(s): actor"),
    ("pause", {"approval": {"max_sends_per_day": 1}}, 400, "approve only"),
    ("approve", {"approval": {"max_sends_per_day": 0}}, 400, "max_sends_per_day"),
    ("approve", {"approval": {"window_start": "2026-03-02T09:00:00"}}, 400, "time zone"),
    ("pause", {"command_id": "x"}, 400, "command_id"),
])
def test_a_bad_command_is_refused_with_its_reason(
    verb: str, body: object, status: int, says: str
) -> None:
    refusal = refused(command_from, verb, "cmp-1", body, "ann", "op-12345678", NOW)
    assert refusal.status == status
    assert says in refusal.reason


def test_the_list_filters_and_pages() -> None:
    f = list_filter({"state": "draft", "company": "sov-1", "tier": "hot", "limit": "10",
                     "offset": "20"})
    assert (f.state, f.company_sov_id, f.tier, f.limit, f.offset) == (
        "draft", "sov-1", "HOT", 10, 20)
    assert list_filter({}).limit == 50
    for query, says in (({"state": "running"}, "state must be"), ({"tier": "LUKEWARM"}, "tier"),
                        ({"limit": "0"}, "limit must be between"), ({"limit": "x"}, "whole")):
        assert says in refused(list_filter, query).reason


def changed(**over: object) -> CampaignStateChanged:
    return CampaignStateChanged(**{**HUB, "campaign_id": "cmp-1", "version": 3,  # type: ignore[arg-type]
                                   "from_state": "draft", "to_state": "active",
                                   "actor": "operator:ann", "command_id": "op-12345678",
                                   **over})


def rejected() -> CampaignCommandRejected:
    return CampaignCommandRejected(**HUB, campaign_id="cmp-1", command_id="op-12345678",  # type: ignore[arg-type]
                                   command="resume", actor="operator:ann", state="paused",
                                   version=4, code="health_pause",
                                   reason="a health pause is lifted only by a new approval")


def test_the_verdict_decides_the_answer() -> None:
    cmd = command_from("resume", "cmp-1", {}, "ann", "op-12345678", NOW)
    status, body = answer(cmd, outcome_of(changed()))
    assert status == 200 and body["status"] == "accepted" and body["state"] == "active"
    status, body = answer(cmd, outcome_of(rejected()))
    assert status == 409 and body["status"] == "refused"
    assert body["reason"] == "a health pause is lifted only by a new approval"
    assert body["code"] == "health_pause"
    status, body = answer(cmd, None)
    assert status == 202 and body["status"] == "pending" and body["command_id"] == "op-12345678"


def test_a_transition_no_command_caused_answers_nobody() -> None:
    assert outcome_of(changed(command_id=None)) is None


async def test_a_waiter_gets_its_commands_verdict_and_not_anothers() -> None:
    outcomes = CampaignOutcomes("outreach.campaign.events", "unused:0", security=PLAINTEXT)
    waiting = asyncio.create_task(outcomes.wait("op-12345678", 5))
    await asyncio.sleep(0)
    outcomes.record(Outcome("op-other123", "cmp-1", True, "active", 3, None))
    await asyncio.sleep(0)
    assert not waiting.done()
    outcomes.record(Outcome("op-12345678", "cmp-1", False, "paused", 4, "no"))
    got = await waiting
    assert got is not None and not got.accepted and got.reason == "no"
    # A verdict that came before its waiter is still found.
    assert (await outcomes.wait("op-other123", 0.01)) is not None
    assert await outcomes.wait("op-never-seen", 0.05) is None


def test_only_the_latest_verdicts_are_kept() -> None:
    outcomes = CampaignOutcomes("t", "unused:0", kept=2, security=PLAINTEXT)
    for n in range(3):
        outcomes.record(Outcome(f"op-0000000{n}", "cmp-1", True, "active", n + 1, None))
    assert list(outcomes._seen) == ["op-00000001", "op-00000002"]
