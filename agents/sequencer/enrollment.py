"""From an ALLOW gate verdict to an enrollment command keyed by the person (pure)."""

from __future__ import annotations

import hashlib

from agents.campaigns.identity import campaign_id_for
from streams.contracts.models.gate import LeadGated
from streams.contracts.models.merge_fields import MergeFields
from streams.contracts.models.sequence import EnrollContact


def contact_key_for(email: str) -> str:
    """The person's key: a hash of the normalized address, so keys and logs carry no email."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def enrollment_for(verdict: LeadGated) -> EnrollContact | None:
    """Only ALLOW verdicts with a verified contact email start a sequence."""
    contact = verdict.contact
    if (
        verdict.verdict != "ALLOW"
        or verdict.strategy not in ("PERSONALIZED_EMAIL", "PHONE_AND_EMAIL")
        or contact is None
        or not contact.email
        or not contact.email_verified
    ):
        return None
    fields = MergeFields(first_name=contact.first_name, last_name=contact.last_name,
                         title=contact.title, company_name=verdict.company_name)
    return EnrollContact(
        enrollment_id=verdict.event_id, contact_key=contact_key_for(contact.email),
        lead_id=verdict.lead_id, company_sov_id=verdict.company_sov_id,
        # The company and strategy's campaign: its persons wait until it is approved. An ALLOW
        # always names a company (the golden rule), so every enrollment has a campaign.
        campaign_id=(campaign_id_for(verdict.company_sov_id, verdict.strategy)
                     if verdict.company_sov_id else None),
        strategy=verdict.strategy, tier=verdict.tier, to_email=contact.email,
        timezone=contact.timezone, correlation_id=verdict.correlation_id,
        requested_at=verdict.occurred_at, merge_fields=None if fields.is_empty() else fields,
    )
