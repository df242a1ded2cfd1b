"""The gate verdict of one lead: BIT score bands and the golden rule (SPEC §3).

Pure: `gate_lead` is what the gate agent runs and what `outreach-hub gate explain` prints.
"""

from __future__ import annotations

from contextlib import suppress
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from agents.gate.policy import GatePolicy
from streams.contracts.models.gate import GateErrorCode, GateVerdict, Strategy, Tier, Verdict
from streams.contracts.models.lead_batch import Enrichment

# Machine-readable reason codes (SPEC §3). Golden rule first, then the score.
MISSING_ENRICHMENT = "missing_enrichment"
MISSING_COMPANY_SOV_ID = "missing_company_sov_id"
MISSING_DOMAIN = "missing_domain"
DOMAIN_UNVERIFIED = "domain_unverified"
MISSING_EMAIL_PATTERN = "missing_email_pattern"
LIFECYCLE_UNKNOWN = "lifecycle_unknown"
LIFECYCLE_BELOW_TARGETABLE = "lifecycle_below_targetable"
MISSING_CONTACT_EMAIL = "missing_contact_email"
EMAIL_UNVERIFIED = "email_unverified"
EMAIL_INVALID = "email_invalid"
EMAIL_DOMAIN_MISMATCH = "email_domain_mismatch"
BIT_SCORE_MISSING = "bit_score_missing"
BIT_BELOW_THRESHOLD = "bit_below_threshold"

# "No verified contact" (OUT-002): no address, an unverified one, or one that cannot be ours.
CONTACT_REASONS = frozenset(
    {MISSING_CONTACT_EMAIL, EMAIL_UNVERIFIED, EMAIL_INVALID, EMAIL_DOMAIN_MISMATCH}
)


def tier_for(score: float | None, policy: GatePolicy) -> Tier | None:
    if score is None:
        return None
    if score < policy.warm_from:
        return "SUSPECT"
    if score < policy.hot_from:
        return "WARM"
    if score < policy.burning_from:
        return "HOT"
    return "BURNING"


@lru_cache(maxsize=8192)  # ~30 us a call; a newer score re-gates up to 200 leads per company
def _sendable_domain(email: str) -> str | None:
    """The lowercase domain of an address the hub can send to, else None.

    Syntax per email-validator, offline (no DNS). ASCII only: a non-ASCII local part needs
    SMTPUTF8, which the SMTP adapter refuses on servers that lack it, and the providers are
    handed the address as given, so an internationalized domain must arrive as xn--.
    """
    if not email.isascii():
        return None
    try:
        checked = validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return checked.ascii_domain.lower()


def email_invalid(email: str) -> bool:
    """`a@b`, `jane@acme.com.`, `jane@`, ` jane@acme.com`, `jöhn@acme.com`: no email goes out."""
    return _sendable_domain(email) is None


def email_domain_mismatch(email: str, company_domain: str) -> bool:
    """The address is not at the company's domain nor one of its subdomains (`jane@mail.acme.com`
    is at `acme.com`; `jane@acme.com.evil.com`, `jane@notacme.com` are not). An invalid address
    is `email_invalid`, not a mismatch."""
    domain = _sendable_domain(email)
    if domain is None:
        return False
    company = company_domain.strip().rstrip(".").lower()
    # bücher.de is xn--bcher-kva.de; a name IDNA refuses can only match its own spelling.
    with suppress(UnicodeError):
        company = company.encode("idna").decode("ascii")
    return not (domain == company or domain.endswith("." + company))


def golden_rule_breaches(
    enrichment: Enrichment | None, policy: GatePolicy, fallback_lifecycle: str | None = None
) -> tuple[str, ...]:
    """Why the golden rule (seed 001) forbids outreach, empty when it holds.

    No outreach without company_sov_id, a verified domain AND an email_pattern; lifecycle must
    be >= TARGETABLE (a value outside the configured order counts as below, as `lifecycle_unknown`);
    the contact needs a verified email that is a valid address at the company's domain (or a
    subdomain of it).
    """
    if enrichment is None:
        return (
            MISSING_ENRICHMENT,
            MISSING_COMPANY_SOV_ID,
            MISSING_DOMAIN,
            MISSING_EMAIL_PATTERN,
            LIFECYCLE_UNKNOWN,
            MISSING_CONTACT_EMAIL,
        )
    reasons: list[str] = []
    if not enrichment.company_sov_id:
        reasons.append(MISSING_COMPANY_SOV_ID)
    if not enrichment.domain:
        reasons.append(MISSING_DOMAIN)
    elif not enrichment.domain_verified:
        reasons.append(DOMAIN_UNVERIFIED)
    if not enrichment.email_pattern:
        reasons.append(MISSING_EMAIL_PATTERN)
    lifecycle = enrichment.lifecycle_state or fallback_lifecycle
    if lifecycle not in policy.lifecycle_order:
        reasons.append(LIFECYCLE_UNKNOWN)
    elif policy.lifecycle_order.index(lifecycle) < policy.lifecycle_order.index(
        policy.min_lifecycle
    ):
        reasons.append(LIFECYCLE_BELOW_TARGETABLE)
    contact = enrichment.contact
    if contact is None or not contact.email:
        reasons.append(MISSING_CONTACT_EMAIL)
        return tuple(reasons)
    if not contact.email_verified:
        reasons.append(EMAIL_UNVERIFIED)
    if email_invalid(contact.email):
        reasons.append(EMAIL_INVALID)
    elif enrichment.domain and email_domain_mismatch(contact.email, enrichment.domain):
        reasons.append(EMAIL_DOMAIN_MISMATCH)
    return tuple(reasons)


def gate_lead(
    enrichment: Enrichment | None,
    score: float | None,
    policy: GatePolicy,
    fallback_lifecycle: str | None = None,
) -> GateVerdict:
    """The verdict for one lead given its company's latest BIT score (None: no score known)."""
    tier = tier_for(score, policy)
    breaches = golden_rule_breaches(enrichment, policy, fallback_lifecycle)
    score_reasons: tuple[str, ...] = ()
    if score is None:
        score_reasons = (BIT_SCORE_MISSING,)
    elif score < policy.hot_from:
        score_reasons = (BIT_BELOW_THRESHOLD,)

    verdict: Verdict
    strategy: Strategy | None = None
    error: GateErrorCode | None = None
    if breaches:
        # A broken golden rule blocks whatever the score; OUT-002 names a contact problem,
        # otherwise a score that also blocks personal outreach records OUT-001.
        verdict = "BLOCKED"
        if CONTACT_REASONS.intersection(breaches):
            error = "OUT-002"
        elif score_reasons:
            error = "OUT-001"
    elif score is None:
        verdict, error = "BLOCKED", "OUT-001"
    elif tier == "SUSPECT":
        verdict, error = "DO_NOT_CONTACT", "OUT-001"
    elif tier == "WARM":
        verdict, strategy, error = "CONTENT_ONLY", "NEWSLETTER_CONTENT", "OUT-001"
    elif tier == "HOT":
        verdict, strategy = "ALLOW", "PERSONALIZED_EMAIL"
    else:
        verdict, strategy = "ALLOW", "PHONE_AND_EMAIL"
    return GateVerdict(
        verdict=verdict,
        tier=tier,
        strategy=strategy,
        reasons=breaches + score_reasons,
        error_code=error,
    )
