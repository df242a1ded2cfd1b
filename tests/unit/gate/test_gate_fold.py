"""agents.gate.core.decide as a fold per company: cards wait for a score, scores release and
re-gate, expiry releases as BLOCKED, replays emit nothing."""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.gate.core import CompanyGateState, decide, expires_at, expiry_due
from agents.gate.policy import GatePolicy
from agents.gate.remembered import PendingLead, fingerprint, remembered
from agents.gate.rules import gate_lead
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models.base import PROCESS_ID_PATTERN
from streams.contracts.models.bit_score import BitScoreEvaluated
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.models.gate import LeadGated, WaitingLeadsExpiryDue
from streams.contracts.models.intake import LeadCardReceived
from streams.contracts.models.lead_batch import Enrichment

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COMPANY = "cmp_8f2c1a"
POLICY = GatePolicy()
BOUND = timedelta(seconds=POLICY.max_wait_seconds)
DROP = object()

ENRICHMENT: dict[str, Any] = {
    "company_sov_id": COMPANY, "company_name": "Acme Roofing", "domain": "acmeroofing.com",
    "domain_verified": True, "email_pattern": "{first}.{last}@acmeroofing.com",
    "lifecycle_state": "TARGETABLE",
    "contact": {"email": "jane.doe@acmeroofing.com", "email_verified": True,
                "first_name": "Jane", "last_name": "Doe", "timezone": "America/Chicago"},
}
FLAWS: dict[str, dict[str, Any]] = {
    "none": {},
    "email_unverified": {"contact__email_verified": False},
    "no_domain": {"domain": DROP},
    "no_pattern": {"email_pattern": None},
    "identified": {"lifecycle_state": "IDENTIFIED"},
    "no_lifecycle": {"lifecycle_state": DROP},  # takes the score's lifecycle
}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def enrichment_doc(flaw: str = "none") -> dict[str, Any]:
    doc = copy.deepcopy(ENRICHMENT)
    for key, value in FLAWS[flaw].items():
        target, name = (doc["contact"], key[9:]) if key.startswith("contact__") else (doc, key)
        if value is DROP:
            target.pop(name)
        else:
            target[name] = value
    return doc


def card(lead_id: str, batch_id: str = "sxp_2026_03_02_001", flaw: str | None = "none",
         disposition: str = "FORWARDED") -> LeadCardReceived:
    raw: dict[str, Any] = {
        "lead_id": lead_id, "source_platform": "x", "username": f"u_{lead_id}",
        "display_name": "Jane Doe", "audience_pool": "solar", "persona": "owner",
        "tribe": "builders", "execution_label": "USER", "confidence_score": 0.9,
        "enrichment_status": {"FORWARDED": "ENRICHED", "AWAITING_ENRICHMENT": "REQUESTED",
                              "NOT_EXECUTABLE": "NONE"}[disposition],
        "contactability_score": 0.7, "created_at": "2026-03-01T10:00:00Z",
    }
    if flaw is not None:
        raw["enrichment"] = enrichment_doc(flaw)
    return LeadCardReceived(
        event_id=STABLE_IDS.event_id("lead-card", batch_id, lead_id), occurred_at=T0,
        correlation_id=f"batch:{batch_id}",
        process_id=STABLE_IDS.process_id("campaign", T0, batch_id), batch_id=batch_id,
        schema_version="v1", lead_id=lead_id, company_sov_id=COMPANY if flaw else None,
        enrichment_status=raw["enrichment_status"], disposition=disposition,  # type: ignore[arg-type]
        checksum="sha256:x", card=raw,
    )


def score(value: float, minutes: float = 0, correlation: str = "bit-corr-1",
          lifecycle: str | None = "TARGETABLE") -> BitScoreEvaluated:
    return BitScoreEvaluated(company_sov_id=COMPANY, outreach_id="out-1", bit_score=value,
                             bit_tier="SILVER", correlation_id=correlation,
                             lifecycle_state=lifecycle, evaluated_at=at(minutes))


def expiry(minutes: float) -> WaitingLeadsExpiryDue:
    return WaitingLeadsExpiryDue(company_sov_id=COMPANY, issued_at=at(minutes))


@dataclass(frozen=True)
class Gate:
    """One company as the shell's two tables hold it: its state and its remembered leads'
    slots. Reads the company state's fields as its own."""

    company: CompanyGateState
    slots: dict[int, PendingLead] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.company, name)

    def leads(self) -> list[PendingLead]:
        """The remembered leads, oldest first."""
        return [self.slots[slot] for _, slot in self.company.remembered]


def fresh() -> Gate:
    return Gate(CompanyGateState(company_sov_id=COMPANY))


def step(state: Gate, event: Any, now: datetime, policy: GatePolicy = POLICY) -> Decision[Gate]:
    d = decide(state.company, event, now, policy, STABLE_IDS, state.slots.get)
    return Decision(Gate(d.state.company, {**state.slots, **d.state.slots}), d.emits, d.effects)


def fold(events: Iterable[tuple[float, Any]], state: Gate | None = None,
         policy: GatePolicy = POLICY) -> tuple[Gate, list[Emit]]:
    state = state or fresh()
    emits: list[Emit] = []
    for minutes, event in events:
        d = step(state, event, at(minutes), policy)
        state = d.state
        emits += d.emits
    return state, emits


def gated(emits: Iterable[Emit]) -> list[LeadGated]:
    return [e.event for e in emits if isinstance(e.event, LeadGated)]


def errors(emits: Iterable[Emit]) -> list[OutreachErrorRaised]:
    return [e.event for e in emits if isinstance(e.event, OutreachErrorRaised)]


def by_lead(emits: Iterable[Emit]) -> dict[str, LeadGated]:
    return {g.lead_id: g for g in gated(emits)}


# ---- waiting and release -----------------------------------------------------------------------

def test_a_forwarded_card_without_a_score_waits() -> None:
    d = step(fresh(), card("lead-1"), at(0))
    assert d.emits == ()
    assert [p.lead_id for p in d.state.waiting] == ["lead-1"]
    assert d.state.version == 1
    assert not expiry_due(d.state, at(59), POLICY)
    assert expiry_due(d.state, at(60), POLICY)


def test_the_company_is_due_when_its_longest_waiting_lead_passes_the_bound() -> None:
    # The shell's due index nudges a company at expires_at: the same bound the core applies.
    state, _ = fold([(0, card("lead-1")), (5, card("lead-2"))])
    assert expires_at(state.company, POLICY) == at(60)
    d = step(state, expiry(60), at(60))
    assert [g.lead_id for g in gated(d.emits)] == ["lead-1"]
    assert expires_at(d.state.company, POLICY) == at(65)
    assert not expiry_due(d.state.company, at(64.9), POLICY)
    d = step(d.state, expiry(65), at(65))
    assert [g.lead_id for g in gated(d.emits)] == ["lead-2"]
    assert expires_at(d.state.company, POLICY) is None


def test_a_score_releases_every_waiting_lead_once() -> None:
    state, _ = fold([(0, card("lead-ok")), (1, card("lead-unverified", flaw="email_unverified")),
                     (2, card("lead-nodomain", flaw="no_domain"))])
    d = step(state, score(63, minutes=3), at(4))
    leads = by_lead(d.emits)
    assert len(gated(d.emits)) == 3
    assert {k: (g.verdict, g.tier, g.strategy, g.error_code) for k, g in leads.items()} == {
        "lead-ok": ("ALLOW", "HOT", "PERSONALIZED_EMAIL", None),
        "lead-unverified": ("BLOCKED", "HOT", None, "OUT-002"),
        "lead-nodomain": ("BLOCKED", "HOT", None, None),
    }
    assert leads["lead-nodomain"].reasons == ("missing_domain",)
    assert all(e.topic == "gate_verdicts" and e.key == COMPANY
               for e in d.emits if isinstance(e.event, LeadGated))
    # One error, on the errors topic, for the one verdict with an error code.
    [err_emit] = [e for e in d.emits if e.topic == "errors"]
    err = err_emit.event
    assert isinstance(err, OutreachErrorRaised)
    assert (err.code, err.severity, err.stage, err.subject_id) == (
        "OUT-002", "high", "gate", "lead-unverified")
    assert err.correlation_id == "bit-corr-1"
    assert "email_unverified" in err.reason
    assert "@" not in err.reason and "@" not in str(err.record)
    assert d.state.waiting == ()
    assert {p.lead_id for p in d.state.leads()} == set(leads)
    for g in leads.values():
        assert g.bit_score == 63 and g.score_evaluated_at == at(3)
        assert g.batch_id == "sxp_2026_03_02_001" and g.occurred_at == at(4)


def test_below_50_every_released_lead_raises_an_error() -> None:
    state, _ = fold([(0, card("lead-a")), (0, card("lead-b", flaw="no_pattern"))])
    d = step(state, score(30), at(1))
    assert [(g.lead_id, g.verdict, g.error_code) for g in gated(d.emits)] == [
        ("lead-a", "CONTENT_ONLY", "OUT-001"), ("lead-b", "BLOCKED", "OUT-001")]
    assert sorted(e.subject_id for e in errors(d.emits)) == ["lead-a", "lead-b"]
    assert {e.code for e in errors(d.emits)} == {"OUT-001"}
    assert {e.severity for e in errors(d.emits)} == {"critical"}


def test_a_card_after_the_score_is_gated_at_once() -> None:
    state, _ = fold([(0, score(88, minutes=0, correlation="bit-9"))])
    d = step(state, card("lead-1"), at(5))
    [g] = gated(d.emits)
    assert (g.verdict, g.tier, g.strategy, g.error_code) == (
        "ALLOW", "BURNING", "PHONE_AND_EMAIL", None)
    assert g.correlation_id == "bit-9"
    assert g.contact is not None and g.contact.email == "jane.doe@acmeroofing.com"
    assert (g.company_name, g.domain) == ("Acme Roofing", "acmeroofing.com")
    assert d.state.waiting == ()


def test_the_score_lifecycle_fills_a_card_without_one() -> None:
    state, _ = fold([(0, score(60, lifecycle="TARGETABLE"))])
    [g] = gated(step(state, card("lead-1", flaw="no_lifecycle"), at(1)).emits)
    assert g.verdict == "ALLOW"
    state, _ = fold([(0, score(60, lifecycle="IDENTIFIED"))])
    [g] = gated(step(state, card("lead-1", flaw="no_lifecycle"), at(1)).emits)
    assert (g.verdict, g.reasons) == ("BLOCKED", ("lifecycle_below_targetable",))


def test_a_forwarded_card_without_enrichment_is_blocked_keyed_by_lead() -> None:
    state, _ = fold([(0, score(90))])
    d = step(state, card("lead-bare", flaw=None), at(1))
    [g] = gated(d.emits)
    assert (g.verdict, g.error_code, g.company_sov_id) == ("BLOCKED", "OUT-002", None)
    assert "missing_enrichment" in g.reasons
    assert {e.key for e in d.emits} == {"lead-bare"}


@pytest.mark.parametrize("waiting_first", [True, False])
def test_a_redelivered_card_emits_nothing(waiting_first: bool) -> None:
    events: list[tuple[float, Any]] = [(0, card("lead-1")), (1, score(70))]
    if not waiting_first:
        events.reverse()
    state, emits = fold(events)
    assert len(gated(emits)) == 1
    d = step(state, card("lead-1"), at(2))
    assert d.emits == ()
    assert d.state == state
    # The same lead in another batch is a new handoff and is gated.
    assert len(gated(step(state, card("lead-1", batch_id="sxp_2"), at(3)).emits)) == 1


def test_a_redelivery_while_waiting_does_not_wait_twice() -> None:
    state, _ = fold([(0, card("lead-1")), (1, card("lead-1"))])
    assert len(state.waiting) == 1
    assert len(gated(step(state, score(55), at(2)).emits)) == 1


@pytest.mark.parametrize("disposition", ["AWAITING_ENRICHMENT", "NOT_EXECUTABLE"])
@pytest.mark.parametrize("with_score", [False, True])
def test_non_forwarded_cards_are_ignored(disposition: str, with_score: bool) -> None:
    state, _ = fold([(0, score(90))] if with_score else [])
    d = step(state, card("lead-1", disposition=disposition), at(1))
    assert d.emits == ()
    assert d.state == state
    # Not remembered: the same lead forwarded in a later batch is gated.
    later = step(d.state, card("lead-1", batch_id="sxp_2"), at(2))
    assert len(later.state.waiting) + len(gated(later.emits)) == 1


# ---- newer and older scores --------------------------------------------------------------------

def _three_gated_at_60() -> Gate:
    state, emits = fold([(0, card("lead-ok")), (0, card("lead-unverified",
                                                        flaw="email_unverified")),
                         (0, card("lead-nodomain", flaw="no_domain")), (1, score(60, 1))])
    assert len(gated(emits)) == 3
    return state


def test_a_newer_score_in_the_same_band_emits_nothing() -> None:
    state = _three_gated_at_60()
    d = step(state, score(74.99, minutes=10), at(11))
    assert d.emits == ()
    assert d.state.score is not None and d.state.score.bit_score == 74.99
    assert d.state.version == state.version + 1


def test_a_newer_score_in_another_band_regates_every_remembered_lead() -> None:
    state = _three_gated_at_60()
    d = step(state, score(20, minutes=10, correlation="bit-corr-2"), at(11))
    leads = by_lead(d.emits)
    assert {k: (g.verdict, g.tier, g.error_code) for k, g in leads.items()} == {
        "lead-ok": ("DO_NOT_CONTACT", "SUSPECT", "OUT-001"),
        "lead-unverified": ("BLOCKED", "SUSPECT", "OUT-002"),
        "lead-nodomain": ("BLOCKED", "SUSPECT", "OUT-001"),
    }
    assert {g.correlation_id for g in leads.values()} == {"bit-corr-2"}
    assert {g.score_evaluated_at for g in leads.values()} == {at(10)}
    assert len(errors(d.emits)) == 3
    # Back up: only the verdicts that change are emitted again, with new event ids.
    d2 = step(d.state, score(90, minutes=20), at(21))
    assert {g.lead_id for g in gated(d2.emits)} == set(leads)
    assert by_lead(d2.emits)["lead-ok"].verdict == "ALLOW"
    ids = [g.event_id for g in (*gated(d.emits), *gated(d2.emits))]
    assert len(set(ids)) == len(ids)


def test_only_changed_verdicts_are_emitted_on_a_regate() -> None:
    # lead-early was released by expiry without a score; lead-late waits; a score then releases
    # lead-late and re-gates lead-early. A second score in the same band re-emits nothing.
    state, emits = fold([(0, card("lead-early")), (61, expiry(61)), (70, card("lead-late"))])
    assert [g.verdict for g in gated(emits)] == ["BLOCKED"]
    d = step(state, score(80, minutes=71), at(72))
    assert sorted(g.lead_id for g in gated(d.emits)) == ["lead-early", "lead-late"]
    d2 = step(d.state, score(99, minutes=80), at(81))
    assert d2.emits == ()


def _as_stored_before_slots(state: Gate, as_text: bool) -> dict[str, Any]:
    """The state as a changelog held it while its remembered leads were kept inside it: as
    text, or before that as objects."""
    raw = state.company.model_dump(mode="json")
    raw["remembered"] = []
    raw["gated"] = [list(remembered(p)) if as_text else p.model_dump(mode="json")
                    for p in state.leads()]
    return raw


@pytest.mark.parametrize("as_text", [True, False])
def test_a_state_stored_before_slots_moves_its_leads_into_slots_on_its_next_change(
        as_text: bool) -> None:
    state = _three_gated_at_60()
    old = Gate(CompanyGateState.model_validate(_as_stored_before_slots(state, as_text)))
    assert old.knows("lead-ok", "sxp_2026_03_02_001")
    assert step(old, card("lead-ok"), at(2)).state == old  # a redelivery: stored as it was
    newer = score(20, minutes=10, correlation="bit-corr-2")
    moved, kept = step(old, newer, at(11)), step(state, newer, at(11))
    assert moved.emits == kept.emits and len(gated(moved.emits)) == 3
    assert moved.state == kept.state
    assert moved.state.gated == ()


def test_a_stored_state_round_trips_through_its_changelog_json() -> None:
    state = _three_gated_at_60()
    stored = orjson.loads(orjson.dumps(state.company.model_dump(mode="json")))
    assert CompanyGateState.model_validate(stored) == state.company
    # The lead's card, unknown fields included, is what a newer score re-gates with.
    raw = card("lead-extra").card
    raw["enrichment"]["sxp_attachment_note"] = "kept"
    raw["enrichment"]["contact"]["first_name"] = "Zoë \"Z\" \u2028"
    extra = card("lead-extra").model_copy(update={"card": raw})
    d = step(state, extra, at(2))
    [lead] = [PendingLead.model_validate(orjson.loads(orjson.dumps(p.model_dump(mode="json"))))
              for p in d.state.leads() if p.lead_id == "lead-extra"]
    assert lead.enrichment == Enrichment.model_validate(raw["enrichment"])


# ---- remembered leads in slots -----------------------------------------------------------------

def _gated_one_by_one(n: int, policy: GatePolicy = POLICY) -> Gate:
    state, emits = fold([(0, score(60, 0)), *((1, card(f"lead-{i}")) for i in range(n))],
                        policy=policy)
    assert len(gated(emits)) == n
    return state


def test_a_gated_lead_writes_its_own_slot_and_a_small_company_state() -> None:
    state = _gated_one_by_one(POLICY.remembered_leads_per_company)
    d = decide(state.company, card("lead-new"), at(2), POLICY, STABLE_IDS, state.slots.get)
    assert len(d.state.slots) == 1
    [lead] = d.state.slots.values()
    assert lead.lead_id == "lead-new"
    # 200 remembered leads: the company's own write stays a few KB whatever they hold.
    assert len(orjson.dumps(d.state.company.model_dump(mode="json"))) < 8_000


def test_a_company_keeps_as_many_slots_as_it_may_remember_the_newest_leads() -> None:
    policy = GatePolicy(remembered_leads_per_company=5)
    state = _gated_one_by_one(8, policy)
    assert sorted(state.slots) == [0, 1, 2, 3, 4]
    assert [p.lead_id for p in state.leads()] == [f"lead-{i}" for i in range(3, 8)]
    # The oldest forgotten lead is a new handoff again; a remembered one is a redelivery.
    assert len(gated(step(state, card("lead-2"), at(2), policy).emits)) == 1
    assert step(state, card("lead-3"), at(2), policy).emits == ()
    d = step(state, score(10, minutes=5), at(5), policy)
    assert sorted(g.lead_id for g in gated(d.emits)) == [f"lead-{i}" for i in range(3, 8)]


def test_a_lowered_bound_keeps_the_newest_leads() -> None:
    state = _gated_one_by_one(5, GatePolicy(remembered_leads_per_company=5))
    lower = GatePolicy(remembered_leads_per_company=3)
    d = step(state, card("lead-new"), at(2), lower)
    assert [p.lead_id for p in d.state.leads()] == ["lead-3", "lead-4", "lead-new"]
    nothing = GatePolicy(remembered_leads_per_company=0)
    d = step(state, card("lead-new"), at(2), nothing)
    assert d.state.remembered == () and len(gated(d.emits)) == 1


def test_a_slot_lost_between_two_writes_is_written_again_by_the_cards_redelivery() -> None:
    state = _gated_one_by_one(3)
    first = step(state, card("lead-new"), at(2))
    # A stop after the company's write and before the slot's: the slot holds nothing.
    slot = first.state.slot_of(fingerprint("lead-new", "sxp_2026_03_02_001"))
    lost = Gate(first.state.company, {s: p for s, p in first.state.slots.items() if s != slot})
    regate = step(lost, score(10, minutes=3), at(3))
    assert "lead-new" not in {g.lead_id for g in gated(regate.emits)}  # skipped, not an error
    # The card comes again (its offset was not committed): the same verdict, the same ids.
    again = step(lost, card("lead-new"), at(4))
    assert [e.event.event_id for e in again.emits] == [  # type: ignore[attr-defined]
        e.event.event_id for e in first.emits]  # type: ignore[attr-defined]
    assert again.state.slots[slot].lead_id == "lead-new"
    d = step(again.state, score(10, minutes=5), at(5))
    assert "lead-new" in {g.lead_id for g in gated(d.emits)}


def test_a_slot_holding_another_lead_is_not_recalled_as_this_one() -> None:
    state = _gated_one_by_one(2)
    [(print_, slot), _] = state.company.remembered
    assert print_ == fingerprint("lead-0", "sxp_2026_03_02_001")
    swapped = Gate(state.company, {**state.slots, slot: state.slots[1 - slot]})
    d = step(swapped, score(10, minutes=5), at(5))
    assert [g.lead_id for g in gated(d.emits)] == ["lead-1"]


@pytest.mark.parametrize("offset", [-5, 0])
def test_an_older_or_equal_score_is_ignored(offset: float) -> None:
    state = _three_gated_at_60()
    d = step(state, score(5, minutes=1 + offset, correlation="bit-stale"), at(30))
    assert d.emits == ()
    assert d.state == state
    assert d.state.score is not None and d.state.score.bit_score == 60


def test_a_redelivered_score_is_ignored() -> None:
    state = _three_gated_at_60()
    assert step(state, score(60, 1), at(40)).emits == ()


# ---- expiry ------------------------------------------------------------------------------------

def test_expiry_before_the_bound_does_nothing() -> None:
    state, _ = fold([(0, card("lead-1"))])
    d = step(state, expiry(59), T0 + BOUND - timedelta(seconds=1))
    assert d.emits == ()
    assert d.state == state


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(days=2)])
def test_expiry_after_the_bound_releases_as_blocked(after: timedelta) -> None:
    state, _ = fold([(0, card("lead-1")), (0, card("lead-2", flaw="email_unverified"))])
    d = step(state, expiry(60), T0 + BOUND + after)
    leads = by_lead(d.emits)
    ok = leads["lead-1"]
    assert (ok.verdict, ok.tier, ok.strategy, ok.reasons, ok.error_code) == (
        "BLOCKED", None, None, ("bit_score_missing",), "OUT-001")
    assert (ok.bit_score, ok.score_evaluated_at) == (None, None)
    assert ok.correlation_id == "batch:sxp_2026_03_02_001"  # no score: the batch's
    assert leads["lead-2"].error_code == "OUT-002"
    assert sorted(e.code for e in errors(d.emits)) == ["OUT-001", "OUT-002"]
    assert d.state.waiting == ()
    assert d.state.version == state.version + 1
    # A second expiry command is a no-op.
    again = step(d.state, expiry(61), T0 + BOUND + after + timedelta(minutes=1))
    assert again.emits == () and again.state == d.state


def test_expiry_releases_only_the_leads_past_their_bound() -> None:
    state, _ = fold([(0, card("lead-old")), (30, card("lead-new"))])
    d = step(state, expiry(61), at(61))
    assert [g.lead_id for g in gated(d.emits)] == ["lead-old"]
    assert [p.lead_id for p in d.state.waiting] == ["lead-new"]


def test_a_custom_wait_bound() -> None:
    policy = GatePolicy(max_wait_seconds=30)
    state, _ = fold([(0, card("lead-1"))], policy=policy)
    assert step(state, expiry(0), T0 + timedelta(seconds=29), policy).emits == ()
    assert len(gated(step(state, expiry(0), T0 + timedelta(seconds=30), policy).emits)) == 1


# ---- versions and ids --------------------------------------------------------------------------

def test_the_version_increases_on_every_change_and_only_then() -> None:
    sequence: list[tuple[float, Any, bool]] = [
        (0, card("lead-1"), True),
        (1, card("lead-2"), True),
        (2, card("lead-2"), False),  # redelivery
        (3, expiry(3), False),  # too early
        (4, score(60, 4), True),
        (5, score(50, 2), False),  # older
        (6, score(70, 6), True),  # newer, same verdicts: state still changes (the score)
        (7, card("lead-3", disposition="NOT_EXECUTABLE"), False),
        (8, card("lead-3"), True),
    ]
    state = fresh()
    for minutes, event, changes in sequence:
        new = step(state, event, at(minutes)).state
        if changes:
            assert new.version == state.version + 1, event
        else:
            assert new == state, event
        state = new


SCENARIO: list[tuple[float, Any]] = [
    (0, card("lead-1")), (1, card("lead-2", flaw="email_unverified")), (2, score(40, 2)),
    (3, card("lead-3")), (10, score(80, 10, correlation="bit-corr-2")),
    (11, card("lead-4", batch_id="sxp_2")), (12, score(10, 12, correlation="bit-corr-3")),
]


def test_event_ids_are_stable_and_unique() -> None:
    _, first = fold(SCENARIO)
    _, second = fold(SCENARIO)
    assert [e.event.event_id for e in first] == [e.event.event_id for e in second]  # type: ignore[attr-defined]
    assert [e.event for e in first] == [e.event for e in second]
    ids = [e.event.event_id for e in first]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids))
    # The time the worker happens to process it does not change the ids either.
    _, later = fold([(m + 7, ev) for m, ev in SCENARIO])
    assert ids == [e.event.event_id for e in later]  # type: ignore[attr-defined]


def test_process_ids_follow_the_spec_pattern() -> None:
    _, emits = fold(SCENARIO)
    assert emits
    pattern = re.compile(PROCESS_ID_PATTERN)
    for e in emits:
        assert pattern.match(e.event.process_id), e.event.process_id  # type: ignore[attr-defined]
    for g in gated(emits):
        day = (g.score_evaluated_at or T0).strftime("%Y%m%d")
        assert g.process_id.startswith(f"outreach-execution-campaign-{day}-")
    # A lead's error shares its verdict's process id.
    for err in errors(emits):
        assert any(g.process_id == err.process_id and g.lead_id == err.subject_id
                   for g in gated(emits))


def test_correlation_id_is_the_scores() -> None:
    _, emits = fold(SCENARIO)
    for g in gated(emits):
        assert g.correlation_id == {at(2): "bit-corr-1", at(10): "bit-corr-2",
                                    at(12): "bit-corr-3"}[g.score_evaluated_at]
    for err in errors(emits):
        assert err.correlation_id.startswith("bit-corr-")


def test_every_emit_is_a_valid_event_on_a_declared_topic() -> None:
    from streams.contracts import codec
    from streams.contracts.models import MODELS
    from streams.contracts.topics import load_catalog

    catalog = load_catalog()
    _, emits = fold(SCENARIO)
    for e in emits:  # the topic's value reads it back as the very event (a union: its member)
        read = MODELS[catalog[e.topic].value].model_validate(codec.loads(codec.dumps(e.event)))
        assert getattr(read, "root", read) == e.event


# ---- properties --------------------------------------------------------------------------------

@st.composite
def interleavings(draw: st.DrawFn) -> list[Any]:
    leads = draw(st.lists(st.sampled_from(sorted(FLAWS)), min_size=1, max_size=5))
    cards = [card(f"lead-{i}", batch_id=f"b{i % 2}", flaw=flaw) for i, flaw in enumerate(leads)]
    cards += draw(st.lists(st.sampled_from(cards), max_size=3))  # redeliveries
    minutes = draw(st.lists(st.integers(0, 500), unique=True, max_size=4))
    values = draw(st.lists(st.sampled_from([0, 24.99, 25, 49.99, 50, 74.99, 75, 100]),
                           min_size=len(minutes), max_size=len(minutes)))
    lifecycles = draw(st.lists(st.sampled_from(["TARGETABLE", "IDENTIFIED", None]),
                               min_size=len(minutes), max_size=len(minutes)))
    scores = [score(v, m, correlation=f"bit-{m}", lifecycle=lc)
              for v, m, lc in zip(values, minutes, lifecycles, strict=True)]
    events = cards + scores
    return draw(st.permutations(events))


@settings(max_examples=150, deadline=None)
@given(interleavings())
def test_any_interleaving_gates_each_lead_once_per_distinct_verdict(events: list[Any]) -> None:
    state, emits = fold((i, e) for i, e in enumerate(events))
    cards = {e.lead_id + "/" + e.batch_id: e for e in events if isinstance(e, LeadCardReceived)}
    scores = [e for e in events if isinstance(e, BitScoreEvaluated)]
    verdicts: dict[str, list[LeadGated]] = {}
    for g in gated(emits):
        verdicts.setdefault(g.lead_id + "/" + g.batch_id, []).append(g)

    if not scores:
        assert emits == []
        assert len(state.waiting) == len(cards)
    else:
        latest = max(scores, key=lambda s: s.evaluated_at)
        assert state.score == latest
        assert state.waiting == ()
        assert set(verdicts) == set(cards)
        for key, seq in verdicts.items():
            outcome = [(g.verdict, g.tier, g.strategy, g.reasons, g.error_code) for g in seq]
            # Never the same verdict twice in a row: one emit per distinct verdict.
            assert all(a != b for a, b in itertools.pairwise(outcome)), outcome
            enr = cards[key].card.get("enrichment")
            final = gate_lead(Enrichment.model_validate(enr) if enr else None,
                              latest.bit_score, POLICY, latest.lifecycle_state)
            assert outcome[-1] == (final.verdict, final.tier, final.strategy, final.reasons,
                                   final.error_code)
            assert len(seq) <= len(scores)
    assert len(errors(emits)) == sum(1 for g in gated(emits) if g.error_code)
    ids = [e.event.event_id for e in emits]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids))

    # Replaying the whole input a second time emits nothing and changes nothing.
    replayed, again = fold(((len(events) + i, e) for i, e in enumerate(events)), state)
    assert again == []
    assert replayed == state
