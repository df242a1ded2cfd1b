"""A touch's email rendered from its template: merge fields, escaping, the sandbox, refusals."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.sender.content import ContentLibrary, ContentRefused, merge_values, render_touch
from agents.sender.core import (
    CONTENT_REFUSED,
    RecordWithoutSending,
    SendEmail,
    SenderConfig,
    SenderState,
    decide_request,
    record_result,
    unsubscribe_url,
)
from agents.sequencer.definition import (
    DEFAULT_DEFINITIONS_PATH,
    load_definitions,
    load_templates,
    templates_root,
)
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import MergeFields, OutreachErrorRaised, TouchRequested

NOW = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
DEFS = load_definitions()
CONTENT = ContentLibrary.of(load_templates())
CFG = SenderConfig(from_email="outreach@hub.example.com", from_name="Outreach Hub",
                   public_base_url="https://hub.example.com",
                   unsubscribe_secret=b"u" * 32, calendar_secret=b"c" * 32, content=CONTENT,
                   approved_digests=lambda campaign: CONTENT.digests if campaign else None)
JANE = MergeFields(first_name="Jane", last_name="Doe", title="Head of Sales",
                   company_name="Acme Roofing")
UNSUB = "https://hub.example.com/unsubscribe?a=x&t=y"
CAL = "https://hub.example.com/calendar/book?sid=x&oid=y&exp=1&sig=z"
SEQUENCE_IDS = {"PERSONALIZED_EMAIL": "personalized-email-v1",
                "PHONE_AND_EMAIL": "phone-and-email-v1"}


def touch(strategy: str, index: int):  # type: ignore[no-untyped-def]
    return CONTENT.by_digest[DEFS[strategy].touch(index).content_digest]


def values(fields: MergeFields | None = JANE, *, calendar: str | None = CAL
           ) -> dict[str, str | None]:
    return merge_values(fields, calendar_link=calendar, unsubscribe_link=UNSUB)


def request(strategy: str = "PERSONALIZED_EMAIL", index: int = 1, *,
            fields: MergeFields | None = JANE, digest: str | None = None,
            campaign: str | None = "cmp-1") -> TouchRequested:
    run = f"{SEQUENCE_IDS[strategy]}-0a1b2c3d4e"
    return TouchRequested(
        event_id="ev-1", occurred_at=NOW, correlation_id="corr-1",
        process_id="outreach-execution-sequence-20260302-0badc0de",
        aggregate_id=f"{run}:ck-jane", sequence_id=run, campaign_id=campaign,
        company_sov_id="cmp_8f2c1a", contact_key="ck-jane", touch_index=index, channel="email",
        subject=DEFS[strategy].touch(index).subject,
        content_digest=digest or DEFS[strategy].touch(index).content_digest,
        to_email="jane.doe@acmeroofing.com", due_at=NOW, idempotency_key=f"k-{index}",
        merge_fields=fields)


@pytest.mark.parametrize(("strategy", "index", "subject"), [
    ("PERSONALIZED_EMAIL", 1, "Quick question about Acme Roofing"),
    ("PERSONALIZED_EMAIL", 2, "A result from a team like Acme Roofing"),
    ("PERSONALIZED_EMAIL", 3, "How Acme Roofing could handle this"),
    ("PERSONALIZED_EMAIL", 4, "One last useful note"),
    ("PERSONALIZED_EMAIL", 5, "Should I close your file?"),
    ("PHONE_AND_EMAIL", 1, "Jane, a quick idea for Acme Roofing"),
    ("PHONE_AND_EMAIL", 3, "The short version for Acme Roofing"),
    ("PHONE_AND_EMAIL", 5, "Worth a conversation this week?"),
])
def test_every_email_touch_renders_its_subject_and_both_bodies(
        strategy: str, index: int, subject: str) -> None:
    rendered = render_touch(touch(strategy, index), values())
    assert rendered.subject == subject
    assert rendered.text.startswith("Hi Jane,\n\n")
    assert rendered.text.endswith(f"\n--\nNot the right person, or not interested? One click and "
                                  f"you will hear nothing more:\n{UNSUB}\n")
    assert CAL in rendered.text
    assert rendered.html is not None and "<p>Hi Jane,</p>" in rendered.html
    # In HTML the links are attribute values, escaped as such.
    assert f'href="{CAL.replace("&", "&amp;")}"' in rendered.html
    assert f'href="{UNSUB.replace("&", "&amp;")}"' in rendered.html
    assert "{{" not in rendered.text + rendered.html and "None" not in rendered.text


def test_the_first_touch_renders_exactly() -> None:
    rendered = render_touch(touch("PERSONALIZED_EMAIL", 1), values())
    assert rendered.text == (
        "Hi Jane,\n\n"
        "As Head of Sales at Acme Roofing, you probably see more buying signals than your team "
        "can follow up on. We help revenue teams act on the ones that matter, while the "
        "interest is still fresh.\n\n"
        "Would it be worth 15 minutes to see whether this fits Acme Roofing? You can pick a "
        f"time here: {CAL}\n\n"
        "Best regards\n\n"
        "--\nNot the right person, or not interested? One click and you will hear nothing "
        f"more:\n{UNSUB}\n")
    amp_cal, amp_unsub = CAL.replace("&", "&amp;"), UNSUB.replace("&", "&amp;")
    assert rendered.html == (
        "<!DOCTYPE html>\n<html>\n<body>\n<p>Hi Jane,</p>\n"
        "<p>As Head of Sales at Acme Roofing, you probably see more buying signals than your "
        "team can follow up on. We help revenue teams act on the ones that matter, while the "
        "interest is still fresh.</p>\n"
        "<p>Would it be worth 15 minutes to see whether this fits Acme Roofing? "
        f'<a href="{amp_cal}">Pick a time here</a>.</p>\n'
        "<p>Best regards</p>\n"
        '<p style="color:#666;font-size:12px">Not the right person, or not interested? '
        f'<a href="{amp_unsub}">Unsubscribe</a> and you will hear nothing more.</p>\n'
        "</body>\n</html>\n")


@pytest.mark.parametrize(("fields", "calendar", "missing"), [
    (JANE.model_copy(update={"first_name": None}), CAL, "first_name"),
    (JANE.model_copy(update={"first_name": "  \n "}), CAL, "first_name"),
    (JANE.model_copy(update={"title": None}), CAL, "title"),
    (JANE.model_copy(update={"company_name": ""}), CAL, "company_name"),
    (None, CAL, "first_name"),
    (JANE, None, "calendar_link"),
])
def test_a_missing_merge_field_refuses_naming_the_field(
        fields: MergeFields | None, calendar: str | None, missing: str) -> None:
    with pytest.raises(ContentRefused) as refused:
        render_touch(touch("PERSONALIZED_EMAIL", 1), values(fields, calendar=calendar))
    assert refused.value.reason == f"merge_field_missing:{missing}"


def test_a_field_the_template_does_not_name_is_not_needed() -> None:
    # Touch 4 names neither title nor company: a card without them still gets it.
    rendered = render_touch(touch("PERSONALIZED_EMAIL", 4), values(MergeFields(first_name="Jo")))
    assert rendered.text.startswith("Hi Jo,\n")


def test_html_escapes_a_name_and_text_keeps_it_as_written() -> None:
    evil = JANE.model_copy(update={"first_name": "<script>alert(1)</script>",
                                   "company_name": 'Acme & "Sons"'})
    rendered = render_touch(touch("PHONE_AND_EMAIL", 1), values(evil))
    assert rendered.html is not None
    assert "<script>" not in rendered.html
    assert "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;,</p>" in rendered.html
    assert "Acme &amp; &#34;Sons&#34;" in rendered.html
    assert rendered.text.startswith("Hi <script>alert(1)</script>,\n")
    assert rendered.subject == '<script>alert(1)</script>, a quick idea for Acme & "Sons"'


def test_a_value_is_data_not_a_template_and_cannot_add_a_line() -> None:
    odd = JANE.model_copy(update={"first_name": "{{ 7*7 }}",
                                  "company_name": "Acme\r\nBcc: victim@example.com"})
    rendered = render_touch(touch("PERSONALIZED_EMAIL", 1), values(odd))
    assert rendered.text.startswith("Hi {{ 7*7 }},\n")
    assert rendered.subject == "Quick question about Acme Bcc: victim@example.com"


def _library_with(tmp_path: Path, text: str) -> ContentLibrary:
    path = tmp_path / "sequences.yaml"
    shutil.copy(DEFAULT_DEFINITIONS_PATH, path)
    shutil.copytree(templates_root(), tmp_path / "templates")
    (tmp_path / "templates" / "personalized-email-v1" / "touch-1.txt").write_text(text)
    return ContentLibrary.of(load_templates(path))


@pytest.mark.parametrize("source", [
    "Hi {{ first_name.__class__ }}", "{{ first_name.__class__.__mro__[1].__subclasses__() }}",
    "{{ first_name.__init__.__globals__ }}", "{{ first_name.format.__self__ }}",
])
def test_the_sandbox_refuses_reaching_into_python(tmp_path: Path, source: str) -> None:
    library = _library_with(tmp_path, source)
    compiled = next(t for t in library.by_digest.values()
                    if t.ref == "personalized-email-v1/touch-1")
    with pytest.raises(ContentRefused, match=r"^template_failed:(SecurityError|UndefinedError)$"):
        render_touch(compiled, values())


def test_decide_request_refuses_unapproved_unknown_and_changed_content(tmp_path: Path) -> None:
    state = SenderState()
    assert isinstance(decide_request(state, request(), CFG), SendEmail)
    assert decide_request(state, request(campaign=None), CFG) == RecordWithoutSending(
        CONTENT_REFUSED, failure="campaign_not_approved")
    only_touch_2 = replace(CFG, approved_digests=lambda _c: frozenset(
        {DEFS["PERSONALIZED_EMAIL"].touch(2).content_digest}))
    assert decide_request(state, request(), only_touch_2) == RecordWithoutSending(
        CONTENT_REFUSED, failure="content_digest_not_approved")
    # The template on disk changed after the sequencer loaded it: the sender has other bytes.
    changed = _library_with(tmp_path, "Hi {{ first_name }}, changed.\n{{ unsubscribe_link }}\n")
    cfg = replace(CFG, content=changed,
                  approved_digests=lambda _c: CONTENT.digests | changed.digests)
    assert decide_request(state, request(), cfg) == RecordWithoutSending(
        CONTENT_REFUSED, failure="content_digest_mismatch")
    unknown = "sha256:" + "0" * 64
    everything = replace(CFG, approved_digests=lambda _c: frozenset({unknown}))
    stranger = request(digest=unknown).model_copy(update={"sequence_id": "other-1"})
    assert decide_request(state, stranger, everything) == RecordWithoutSending(
        CONTENT_REFUSED, failure="template_unknown")


def test_a_refused_send_records_a_failed_send_and_out_003_naming_the_field() -> None:
    req = request(fields=JANE.model_copy(update={"first_name": None}))
    outcome = decide_request(SenderState(), req, CFG)
    assert isinstance(outcome, RecordWithoutSending) and outcome.failure
    decision = record_result(SenderState(), req, NOW, STABLE_IDS, provider=outcome.provider,
                             failure=outcome.failure)
    sent, error = (e.event for e in decision.emits)
    assert getattr(sent, "status", None) == "failed"
    assert getattr(sent, "failure_reason", None) == "merge_field_missing:first_name"
    assert isinstance(error, OutreachErrorRaised) and error.code == "OUT-003"
    assert error.reason == "merge_field_missing:first_name"
    assert "Jane" not in error.model_dump_json() and "Doe" not in error.model_dump_json()


def test_the_email_carries_the_hubs_links() -> None:
    outcome = decide_request(SenderState(), request(), CFG)
    assert isinstance(outcome, SendEmail)
    email = outcome.email
    assert email.unsubscribe_url == unsubscribe_url(CFG, request().aggregate_id)
    assert email.calendar_link is not None and email.calendar_link in email.text_body
    assert email.unsubscribe_url in email.text_body
    assert email.html_body is not None
    assert email.unsubscribe_url.replace("&", "&amp;") in email.html_body
