"""enrollment_for(): an ALLOW gate verdict with a verified email -> EnrollContact (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.campaigns.identity import campaign_id_for
from agents.sequencer.enrollment import contact_key_for, enrollment_for
from streams.contracts.models.gate import LeadGated
from streams.contracts.models.lead_batch import Contact
from streams.contracts.models.merge_fields import MergeFields
from streams.contracts.models.sequence import EnrollContact

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
EMAIL = "Jane.Doe@AcmeRoofing.test"


def verdict(**kw: Any) -> LeadGated:
    data: dict[str, Any] = {
        "event_id": "gate-evt-1", "occurred_at": AT, "correlation_id": "corr-1",
        "process_id": "outreach-execution-campaign-20260601-0123abcd",
        "lead_id": "lead-1", "batch_id": "batch-1", "company_sov_id": "cmp_8f2c1a",
        "bit_score": 62.0, "score_evaluated_at": AT, "verdict": "ALLOW", "tier": "HOT",
        "strategy": "PERSONALIZED_EMAIL", "reasons": (), "error_code": None,
        "company_name": "Acme Roofing", "domain": "acmeroofing.test",
        "contact": Contact(email=EMAIL, email_verified=True, first_name="Jane",
                           timezone="America/Chicago"),
    }
    data.update(kw)
    return LeadGated(**data)


@pytest.mark.parametrize(("strategy", "tier"), [
    ("PERSONALIZED_EMAIL", "HOT"), ("PHONE_AND_EMAIL", "BURNING")])
def test_allow_with_verified_email_enrolls(strategy: str, tier: str) -> None:
    v = verdict(strategy=strategy, tier=tier)
    cmd = enrollment_for(v)
    assert isinstance(cmd, EnrollContact)
    assert cmd.enrollment_id == v.event_id
    assert cmd.contact_key == contact_key_for(EMAIL)
    assert cmd.strategy == strategy and cmd.tier == tier
    assert cmd.lead_id == "lead-1" and cmd.company_sov_id == "cmp_8f2c1a"
    assert cmd.to_email == EMAIL
    assert cmd.timezone == "America/Chicago"
    assert cmd.correlation_id == "corr-1"
    assert cmd.requested_at == AT
    # The company and strategy's campaign: the person waits until it is approved.
    assert cmd.campaign_id == campaign_id_for("cmp_8f2c1a", strategy)
    assert cmd.merge_fields == MergeFields(first_name="Jane", company_name="Acme Roofing")


def test_enrollment_is_deterministic() -> None:
    assert enrollment_for(verdict()) == enrollment_for(verdict())


@pytest.mark.parametrize("change", [
    {"verdict": "CONTENT_ONLY", "tier": "WARM", "strategy": "NEWSLETTER_CONTENT",
     "error_code": "OUT-001"},
    {"verdict": "DO_NOT_CONTACT", "tier": "SUSPECT", "strategy": None, "error_code": "OUT-001"},
    {"verdict": "BLOCKED", "error_code": "OUT-002"},
    {"verdict": "BLOCKED", "strategy": None, "reasons": ("email_invalid",),
     "error_code": "OUT-002", "contact": Contact(email="a@b", email_verified=True)},
    {"verdict": "BLOCKED", "strategy": None},
    {"strategy": "NEWSLETTER_CONTENT"},
    {"strategy": None},
    {"contact": None},
    {"contact": Contact(email=EMAIL, email_verified=False)},
    {"contact": Contact(email=None, email_verified=True)},
    {"contact": Contact(email="", email_verified=True)},
    {"contact": Contact()},
], ids=lambda c: "-".join(f"{k}={v if not isinstance(v, Contact) else 'contact'}"
                          for k, v in c.items()))
def test_no_enrollment_otherwise(change: dict[str, Any]) -> None:
    assert enrollment_for(verdict(**change)) is None


def test_contact_key_is_stable_case_and_whitespace_insensitive() -> None:
    key = contact_key_for("jane.doe@acmeroofing.test")
    for variant in ("Jane.Doe@AcmeRoofing.test", "  jane.doe@acmeroofing.test\n",
                    "\tJANE.DOE@ACMEROOFING.TEST "):
        assert contact_key_for(variant) == key
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert contact_key_for("john.doe@acmeroofing.test") != key


def test_contact_key_of_enrollment_matches_normalized_email() -> None:
    a = enrollment_for(verdict(contact=Contact(email=" JANE.doe@acmeroofing.test ",
                                               email_verified=True)))
    b = enrollment_for(verdict(event_id="gate-evt-2",
                               contact=Contact(email="jane.doe@acmeroofing.test",
                                               email_verified=True)))
    assert a is not None and b is not None
    assert a.contact_key == b.contact_key


emails = st.builds(lambda local, domain, tld: f"{local}@{domain}.{tld}",
                   st.from_regex(r"[A-Za-z0-9._%+-]{1,30}", fullmatch=True),
                   st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True),
                   st.sampled_from(["com", "test", "io", "CO.UK"]))


@settings(max_examples=200, deadline=None)
@given(emails, st.sampled_from(["", " ", "\t", "\n "]), st.sampled_from(["", " ", "\r\n"]))
def test_contact_key_properties(email: str, lead: str, trail: str) -> None:
    key = contact_key_for(email)
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert contact_key_for(lead + email.swapcase() + trail) == key
    assert contact_key_for(email.upper()) == key
    lowered = email.lower()
    assert lowered not in key and email not in key
    assert lowered.split("@")[1] not in key


def test_enrollment_command_does_not_leak_email_in_key() -> None:
    cmd = enrollment_for(verdict())
    assert cmd is not None
    assert "@" not in cmd.contact_key
    assert "jane" not in cmd.contact_key.lower()


def test_the_cards_names_title_and_company_become_the_merge_fields() -> None:
    contact = Contact(email=EMAIL, email_verified=True, first_name="Jane", last_name="Doe",
                      title="Head of Sales")
    cmd = enrollment_for(verdict(contact=contact))
    assert cmd is not None and cmd.merge_fields == MergeFields(
        first_name="Jane", last_name="Doe", title="Head of Sales", company_name="Acme Roofing")
    bare = Contact(email=EMAIL, email_verified=True)
    cmd = enrollment_for(verdict(contact=bare, company_name=None))
    assert cmd is not None and cmd.merge_fields is None  # nothing to carry
