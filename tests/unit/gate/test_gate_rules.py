"""gate_lead as a pure function: BIT score bands and the golden rule (SPEC §3)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from agents.gate.policy import DEFAULT_LIFECYCLE_ORDER, GatePolicy
from agents.gate.rules import gate_lead
from streams.contracts.models.lead_batch import Enrichment
from streams.sample import lead_batch

POLICY = GatePolicy()
DROP = object()  # remove the field instead of setting it

# The attachment of SPEC §3, verbatim: it satisfies the golden rule.
GOOD: dict[str, Any] = {
    "company_sov_id": "cmp_8f2c1a", "company_name": "Acme Roofing",
    "domain": "acmeroofing.com", "domain_verified": True,
    "email_pattern": "{first}.{last}@acmeroofing.com",
    "lifecycle_state": "TARGETABLE",
    "contact": {"email": "jane.doe@acmeroofing.com", "email_verified": True,
                "first_name": "Jane", "last_name": "Doe", "title": "Owner",
                "timezone": "America/Chicago"},
}


def enrichment(**changes: Any) -> Enrichment:
    """GOOD with changes; a key `contact__email` reaches into the contact."""
    doc = copy.deepcopy(GOOD)
    for key, value in changes.items():
        target, name = (doc.get("contact"), key.split("__")[1]) if "__" in key else (doc, key)
        if not isinstance(target, dict):
            continue  # the contact itself is gone
        if value is DROP:
            target.pop(name, None)
        else:
            target[name] = value
    return Enrichment.model_validate(doc)


def verdict_of(enr: Enrichment | None, score: float | None, policy: GatePolicy = POLICY,
               fallback: str | None = None) -> tuple[Any, ...]:
    v = gate_lead(enr, score, policy, fallback_lifecycle=fallback)
    return v.verdict, v.tier, v.strategy, v.reasons, v.error_code


BELOW = ("bit_below_threshold",)

# score -> (verdict, tier, strategy, reasons, error_code), SPEC §3 defaults.
BOUNDARIES = [
    (0, ("DO_NOT_CONTACT", "SUSPECT", None, BELOW, "OUT-001")),
    (24, ("DO_NOT_CONTACT", "SUSPECT", None, BELOW, "OUT-001")),
    (24.99, ("DO_NOT_CONTACT", "SUSPECT", None, BELOW, "OUT-001")),
    (25, ("CONTENT_ONLY", "WARM", "NEWSLETTER_CONTENT", BELOW, "OUT-001")),
    (49, ("CONTENT_ONLY", "WARM", "NEWSLETTER_CONTENT", BELOW, "OUT-001")),
    (49.99, ("CONTENT_ONLY", "WARM", "NEWSLETTER_CONTENT", BELOW, "OUT-001")),
    (50, ("ALLOW", "HOT", "PERSONALIZED_EMAIL", (), None)),
    (74, ("ALLOW", "HOT", "PERSONALIZED_EMAIL", (), None)),
    (74.99, ("ALLOW", "HOT", "PERSONALIZED_EMAIL", (), None)),
    (75, ("ALLOW", "BURNING", "PHONE_AND_EMAIL", (), None)),
    (100, ("ALLOW", "BURNING", "PHONE_AND_EMAIL", (), None)),
]


@pytest.mark.parametrize(("score", "expected"), BOUNDARIES)
def test_score_boundaries_with_the_golden_rule_held(score: float, expected: tuple) -> None:
    assert verdict_of(enrichment(), score) == expected


def test_no_score_blocks_with_bit_score_missing_and_out_001() -> None:
    assert verdict_of(enrichment(), None) == ("BLOCKED", None, None, ("bit_score_missing",),
                                              "OUT-001")


# change -> (golden-rule reasons, is a contact problem => OUT-002)
BREACHES: dict[str, tuple[dict[str, Any], tuple[str, ...], bool]] = {
    "company_sov_id missing": ({"company_sov_id": DROP}, ("missing_company_sov_id",), False),
    "company_sov_id null": ({"company_sov_id": None}, ("missing_company_sov_id",), False),
    "company_sov_id empty": ({"company_sov_id": ""}, ("missing_company_sov_id",), False),
    "domain missing": ({"domain": DROP}, ("missing_domain",), False),
    "domain empty": ({"domain": ""}, ("missing_domain",), False),
    "domain_verified false": ({"domain_verified": False}, ("domain_unverified",), False),
    "domain_verified missing": ({"domain_verified": DROP}, ("domain_unverified",), False),
    "email_pattern missing": ({"email_pattern": DROP}, ("missing_email_pattern",), False),
    "email_pattern null": ({"email_pattern": None}, ("missing_email_pattern",), False),
    "email_pattern empty": ({"email_pattern": ""}, ("missing_email_pattern",), False),
    "lifecycle UNKNOWN": ({"lifecycle_state": "UNKNOWN"}, ("lifecycle_below_targetable",), False),
    "lifecycle IDENTIFIED": (
        {"lifecycle_state": "IDENTIFIED"}, ("lifecycle_below_targetable",), False),
    "lifecycle outside the order": (
        {"lifecycle_state": "PROSPECT"}, ("lifecycle_unknown",), False),
    "lifecycle null": ({"lifecycle_state": None}, ("lifecycle_unknown",), False),
    "lifecycle missing": ({"lifecycle_state": DROP}, ("lifecycle_unknown",), False),
    "contact missing": ({"contact": DROP}, ("missing_contact_email",), True),
    "contact null": ({"contact": None}, ("missing_contact_email",), True),
    "contact email missing": ({"contact__email": DROP}, ("missing_contact_email",), True),
    "contact email empty": ({"contact__email": ""}, ("missing_contact_email",), True),
    "contact email unverified": ({"contact__email_verified": False}, ("email_unverified",), True),
    "contact email_verified missing": (
        {"contact__email_verified": DROP}, ("email_unverified",), True),
    "contact email a@b": ({"contact__email": "a@b"}, ("email_invalid",), True),
    "contact email at another domain": (
        {"contact__email": "jane@evil.com"}, ("email_domain_mismatch",), True),
    "contact email unverified and invalid": (
        {"contact__email": "jane@", "contact__email_verified": False},
        ("email_unverified", "email_invalid"), True),
}

SCORES: list[float | None] = [None, 0, 24.99, 25, 49.99, 50, 74.99, 75, 100]


def band(score: float | None) -> str | None:
    if score is None:
        return None
    return "SUSPECT" if score < 25 else "WARM" if score < 50 else "HOT" if score < 75 else "BURNING"


def score_reasons(score: float | None) -> tuple[str, ...]:
    if score is None:
        return ("bit_score_missing",)
    return BELOW if score < 50 else ()


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("case", list(BREACHES))
def test_each_golden_rule_breach_blocks_whatever_the_score(case: str, score: float | None) -> None:
    change, reasons, contact_problem = BREACHES[case]
    verdict, tier, strategy, got_reasons, error = verdict_of(enrichment(**change), score)
    assert verdict == "BLOCKED"
    assert strategy is None
    assert tier == band(score)
    assert got_reasons == reasons + score_reasons(score)
    if contact_problem:
        assert error == "OUT-002"
    else:
        # OUT-002 only names a contact problem; a score that also blocks outreach records OUT-001.
        assert error == ("OUT-001" if score is None or score < 50 else None)


@pytest.mark.parametrize("score", SCORES)
def test_no_enrichment_at_all_is_blocked_as_no_verified_contact(score: float | None) -> None:
    verdict, tier, strategy, reasons, error = verdict_of(None, score)
    assert (verdict, tier, strategy, error) == ("BLOCKED", band(score), None, "OUT-002")
    assert reasons[0] == "missing_enrichment"
    for code in ("missing_company_sov_id", "missing_domain", "missing_email_pattern",
                 "missing_contact_email"):
        assert code in reasons
    tail = score_reasons(score)
    assert reasons[len(reasons) - len(tail):] == tail
    assert ("bit_below_threshold" in reasons) == (score is not None and score < 50)


@pytest.mark.parametrize(("state", "allowed"), [
    *[(s, DEFAULT_LIFECYCLE_ORDER.index(s) >= DEFAULT_LIFECYCLE_ORDER.index("TARGETABLE"))
      for s in DEFAULT_LIFECYCLE_ORDER],
])
def test_every_lifecycle_state_of_the_order(state: str, allowed: bool) -> None:
    got = verdict_of(enrichment(lifecycle_state=state), 60)
    if allowed:
        assert got == ("ALLOW", "HOT", "PERSONALIZED_EMAIL", (), None)
    else:
        assert got == ("BLOCKED", "HOT", None, ("lifecycle_below_targetable",), None)


def test_default_lifecycle_order_is_the_spec_order() -> None:
    assert DEFAULT_LIFECYCLE_ORDER == (
        "UNKNOWN", "IDENTIFIED", "TARGETABLE", "ENGAGED", "QUALIFIED", "CLIENT")


@pytest.mark.parametrize(("card_state", "fallback", "expected_reasons"), [
    (None, "TARGETABLE", ()),
    (None, "CLIENT", ()),
    (None, "IDENTIFIED", ("lifecycle_below_targetable",)),
    (None, "PROSPECT", ("lifecycle_unknown",)),
    (None, None, ("lifecycle_unknown",)),
    ("TARGETABLE", None, ()),
])
def test_score_lifecycle_fills_in_when_the_card_has_none(
    card_state: str | None, fallback: str | None, expected_reasons: tuple[str, ...]
) -> None:
    v = gate_lead(enrichment(lifecycle_state=card_state), 80, POLICY, fallback_lifecycle=fallback)
    assert v.reasons == expected_reasons
    assert v.verdict == ("ALLOW" if not expected_reasons else "BLOCKED")


def test_several_breaches_are_all_reported_golden_rule_first() -> None:
    enr = enrichment(domain=DROP, email_pattern=None, contact__email_verified=False)
    assert verdict_of(enr, 10) == (
        "BLOCKED", "SUSPECT", None,
        ("missing_domain", "missing_email_pattern", "email_unverified", "bit_below_threshold"),
        "OUT-002",
    )


def test_unknown_fields_in_the_attachment_do_not_change_the_verdict() -> None:
    doc = copy.deepcopy(GOOD) | {"sxp_note": "kept"}
    doc["contact"]["linkedin"] = "jane-doe"
    assert verdict_of(Enrichment.model_validate(doc), 60) == verdict_of(enrichment(), 60)


# ---- the contact's address -----------------------------------------------------------------

INVALID, MISMATCH = ("email_invalid",), ("email_domain_mismatch",)

# (contact email, company domain) -> address reasons. Syntax per email-validator, offline; the
# company's domain or any subdomain of it matches; ASCII only (see rules._sendable_domain).
ADDRESSES = [
    ("jane.doe@acme.com", "acme.com", ()),
    ("jane@acme.com", "acme.com", ()),
    ("JANE@ACME.COM", "acme.com", ()),  # case never matters in the domain
    ("Jane.Doe@Acme.Com", "ACME.com", ()),
    ("jane+outreach@acme.com", "acme.com", ()),
    ("o'brien@acme.com", "acme.com", ()),
    ("jane@mail.acme.com", "acme.com", ()),  # a subdomain is the company's own
    ("jane@eu.mail.acme.com", "acme.com", ()),
    ("jane@acme.com", "acme.com.", ()),  # a fully qualified company domain
    ("jane@acme.com", " acme.com ", ()),
    ("jane@xn--bcher-kva.de", "xn--bcher-kva.de", ()),
    ("jane@xn--bcher-kva.de", "bücher.de", ()),  # the company's domain in Unicode
    ("jane@company3-hvac.example", "company3-hvac.example", ()),  # streams/sample.py's
    ("a@b", "acme.com", INVALID),
    ("a@b", "b", INVALID),  # no dot: not a domain mail can reach
    ("jane@acme.com.", "acme.com", INVALID),  # trailing dot
    ("jane@", "acme.com", INVALID),  # missing domain
    ("@acme.com", "acme.com", INVALID),
    ("jane", "acme.com", INVALID),
    ("jane@@acme.com", "acme.com", INVALID),
    ("jane doe@acme.com", "acme.com", INVALID),
    (" jane@acme.com", "acme.com", INVALID),
    ("jane@acme.com\n", "acme.com", INVALID),
    ("jane..doe@acme.com", "acme.com", INVALID),
    (".jane@acme.com", "acme.com", INVALID),
    ("jane@acme..com", "acme.com", INVALID),
    ("jane@-acme.com", "acme.com", INVALID),
    ('"jane doe"@acme.com', "acme.com", INVALID),
    ("jane@[10.0.0.1]", "acme.com", INVALID),
    ("jane@localhost", "localhost", INVALID),
    ("jane@acme.test", "acme.test", INVALID),  # special-use names receive no mail
    ("jöhn@acme.com", "acme.com", INVALID),  # needs SMTPUTF8
    ("jane@bücher.de", "bücher.de", INVALID),  # Unicode domain: must arrive as xn--
    ("\uff4a\uff41\uff4e\uff45@acme.com", "acme.com", INVALID),  # fullwidth "jane"
    ("jane@evil.com", "acme.com", MISMATCH),
    ("jane@notacme.com", "acme.com", MISMATCH),  # not a subdomain: no dot before it
    ("jane@acme.com.evil.com", "acme.com", MISMATCH),
    ("jane@acme.co", "acme.com", MISMATCH),
    ("jane@acme.com", "mail.acme.com", MISMATCH),  # the parent is not the verified domain
    ("jane@acmeroofing.com", "acme.com", MISMATCH),
]


@pytest.mark.parametrize(("email", "domain", "reasons"), ADDRESSES)
def test_the_contact_address_must_be_valid_and_at_the_company_domain(
        email: str, domain: str, reasons: tuple[str, ...]) -> None:
    got = gate_lead(enrichment(domain=domain, contact__email=email), 80, POLICY)
    assert got.reasons == reasons
    if reasons:
        # Like a missing or unverified email: no verified contact, whatever the score.
        assert (got.verdict, got.strategy, got.error_code) == ("BLOCKED", None, "OUT-002")
    else:
        assert (got.verdict, got.error_code) == ("ALLOW", None)


def test_without_a_company_domain_only_the_syntax_is_checked() -> None:
    assert verdict_of(enrichment(domain=DROP, contact__email="jane@evil.com"), 80)[3] == (
        "missing_domain",)
    assert verdict_of(enrichment(domain=DROP, contact__email="a@b"), 80)[3] == (
        "missing_domain", "email_invalid")


def test_the_sample_data_addresses_pass_the_address_rules() -> None:
    """The demo, the e2e tests and bench/ draw their cards from streams/sample.py."""
    cards = [c for c in lead_batch("b", 2000, 40)["records"] if c.get("enrichment")]
    assert len(cards) > 1000
    for card in cards:
        reasons = gate_lead(Enrichment.model_validate(card["enrichment"]), 80, POLICY).reasons
        assert not {"email_invalid", "email_domain_mismatch"} & set(reasons)


def test_an_unverified_domain_is_still_compared() -> None:
    got = gate_lead(enrichment(domain_verified=False, contact__email="jane@evil.com"), 80, POLICY)
    assert got.reasons == ("domain_unverified", "email_domain_mismatch")
    assert got.error_code == "OUT-002"


# ---- custom policies ---------------------------------------------------------------------------

CUSTOM = GatePolicy(warm_from=10, hot_from=60, burning_from=90)


@pytest.mark.parametrize(("policy", "score", "verdict", "tier"), [
    (CUSTOM, 0, "DO_NOT_CONTACT", "SUSPECT"),
    (CUSTOM, 9.99, "DO_NOT_CONTACT", "SUSPECT"),
    (CUSTOM, 10, "CONTENT_ONLY", "WARM"),
    (CUSTOM, 24, "CONTENT_ONLY", "WARM"),
    (CUSTOM, 50, "CONTENT_ONLY", "WARM"),  # ALLOW under the defaults
    (CUSTOM, 59.99, "CONTENT_ONLY", "WARM"),
    (CUSTOM, 60, "ALLOW", "HOT"),
    (CUSTOM, 75, "ALLOW", "HOT"),  # BURNING under the defaults
    (CUSTOM, 89.99, "ALLOW", "HOT"),
    (CUSTOM, 90, "ALLOW", "BURNING"),
    (GatePolicy(warm_from=50, hot_from=50, burning_from=50), 49.99, "DO_NOT_CONTACT", "SUSPECT"),
    (GatePolicy(warm_from=50, hot_from=50, burning_from=50), 50, "ALLOW", "BURNING"),
    (GatePolicy(warm_from=0, hot_from=0, burning_from=100), 0, "ALLOW", "HOT"),
    (GatePolicy(warm_from=0, hot_from=0, burning_from=100), 100, "ALLOW", "BURNING"),
    (GatePolicy(burning_from=100), 99.99, "ALLOW", "HOT"),
    (GatePolicy(warm_from=0), 0, "CONTENT_ONLY", "WARM"),
])
def test_custom_thresholds_move_the_boundaries(
    policy: GatePolicy, score: float, verdict: str, tier: str
) -> None:
    got = gate_lead(enrichment(), score, policy)
    assert (got.verdict, got.tier) == (verdict, tier)
    assert got.error_code == (None if verdict == "ALLOW" else "OUT-001")


@pytest.mark.parametrize(("policy", "state", "reasons"), [
    (GatePolicy(min_lifecycle="ENGAGED"), "TARGETABLE", ("lifecycle_below_targetable",)),
    (GatePolicy(min_lifecycle="ENGAGED"), "ENGAGED", ()),
    (GatePolicy(min_lifecycle="UNKNOWN"), "UNKNOWN", ()),
    (GatePolicy(lifecycle_order=("COLD", "READY", "WON"), min_lifecycle="READY"), "COLD",
     ("lifecycle_below_targetable",)),
    (GatePolicy(lifecycle_order=("COLD", "READY", "WON"), min_lifecycle="READY"), "WON", ()),
    (GatePolicy(lifecycle_order=("COLD", "READY", "WON"), min_lifecycle="READY"), "TARGETABLE",
     ("lifecycle_unknown",)),
])
def test_custom_lifecycle_order(policy: GatePolicy, state: str, reasons: tuple[str, ...]) -> None:
    assert gate_lead(enrichment(lifecycle_state=state), 60, policy).reasons == reasons


@pytest.mark.parametrize("kwargs", [
    {"warm_from": 60},  # warm above hot
    {"hot_from": 80},  # hot above burning
    {"warm_from": 30, "hot_from": 20, "burning_from": 90},
    {"burning_from": 100.5},
    {"warm_from": -1},
    {"warm_from": float("nan")},
    {"hot_from": "high"},
    {"min_lifecycle": "NOPE"},
    {"lifecycle_order": ("A", "B"), "min_lifecycle": "TARGETABLE"},
    {"max_wait_seconds": 0},
    {"max_wait_seconds": -5},
    {"remembered_leads_per_company": -1},
    {"unknown_setting": 1},
])
def test_invalid_policies_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GatePolicy(**kwargs)


def test_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        POLICY.hot_from = 10  # type: ignore[misc]


# ---- properties --------------------------------------------------------------------------------

scores = st.floats(min_value=0, max_value=100, allow_nan=False)
TIER_RANK = {"SUSPECT": 0, "WARM": 1, "HOT": 2, "BURNING": 3}
VERDICT_RANK = {"DO_NOT_CONTACT": 0, "CONTENT_ONLY": 1, "ALLOW": 2}


@given(scores)
def test_allow_iff_score_at_least_50(score: float) -> None:
    v = gate_lead(enrichment(), score, POLICY)
    assert (v.verdict == "ALLOW") == (score >= 50)
    assert (v.error_code is None) == (score >= 50)
    assert v.verdict != "BLOCKED"
    assert (v.strategy in ("PERSONALIZED_EMAIL", "PHONE_AND_EMAIL")) == (score >= 50)


@given(scores, scores)
def test_tier_and_verdict_are_monotonic_in_the_score(a: float, b: float) -> None:
    low, high = sorted((a, b))
    vl, vh = gate_lead(enrichment(), low, POLICY), gate_lead(enrichment(), high, POLICY)
    assert TIER_RANK[vl.tier] <= TIER_RANK[vh.tier]  # type: ignore[index]
    assert VERDICT_RANK[vl.verdict] <= VERDICT_RANK[vh.verdict]


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False), min_size=3, max_size=3),
       scores)
def test_any_valid_policy_allows_iff_score_reaches_hot_from(thresholds: list[float],
                                                            score: float) -> None:
    warm, hot, burning = sorted(thresholds)
    policy = GatePolicy(warm_from=warm, hot_from=hot, burning_from=burning)
    v = gate_lead(enrichment(), score, policy)
    assert (v.verdict == "ALLOW") == (score >= hot)
    assert (v.tier == "BURNING") == (score >= burning)
    assert (v.tier == "SUSPECT") == (score < warm)


@given(st.sets(st.sampled_from(sorted(BREACHES)), min_size=1),
       st.one_of(st.none(), scores))
def test_a_breached_golden_rule_is_blocked_for_every_score(cases: set[str],
                                                          score: float | None) -> None:
    change: dict[str, Any] = {}
    for case in sorted(cases):
        change.update(BREACHES[case][0])
    enr = enrichment(**change)
    contact = enr.contact
    contact_problem = (
        contact is None or not contact.email or not contact.email_verified
        or contact.email in ("a@b", "jane@")
        or (bool(enr.domain) and contact.email == "jane@evil.com")
    )
    v = gate_lead(enr, score, POLICY)
    assert v.verdict == "BLOCKED"
    assert v.strategy is None
    assert v.reasons
    assert (v.error_code == "OUT-002") == contact_problem
