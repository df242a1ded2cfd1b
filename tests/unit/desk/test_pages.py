"""The desk's templates and form handling, without a worker: the markup contract the browser
test relies on, escaping of everything that comes from records, and a form turned into the
operator API's command."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from html import unescape

import pytest

from agents.campaigns.health import HealthPolicy
from agents.sender.content import ContentLibrary
from agents.sender.core import SenderConfig, unsubscribe_url
from agents.sequencer.definition import load_definitions, load_templates
from streams.desk import actions
from streams.desk.preview import aggregate_for, definition_for, render_preview, subjects
from streams.desk.queries import ENDED, RUNNING, ListQuery, mask_email
from streams.desk.views import environment, when
from streams.operator.campaign_requests import STATES, TIERS, Refusal, command_from

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>'


def render(template: str, **context: object) -> str:
    tokens = iter(f"nonce{n}.mac" for n in range(100))
    return environment().get_template(template).render(
        operator="ann", flash=None, csrf=lambda: next(tokens), **context)


def campaign_page(state: str, rendered_subjects: dict[int, str] | None = None,
                  **extra: object) -> str:
    c = {"campaign_id": "cmp-1", "state": state, "version": 3, "tier": "HOT",
         "company_sov_id": "cmp_0001", "strategy": "PERSONALIZED_EMAIL",
         "sequence_id": "personalized-email-v1", "audience": 4, "draft_version": 1,
         "eligibility": {"verdict": "MAY", "reasons": [EVIL]}, "content_digests": ["sha256:ab"],
         "health_verdict_id": None, **extra}
    view = {"campaign": c, "company_name": "Harbor Light Roofing", "history": [], "health": [],
            "audit": None,
            "sends": {"sent": 12, "failed": 1}, "sends_by_day": [],
            "engagement": {"opened": 5}, "people": [
                {"first_name": "Jane", "last_name": EVIL, "title": "Owner",
                 "company_name": "Co", "masked_email": "j***@co.example"}]}
    defs = load_definitions()
    return render("campaign.html", **view, touches=defs["PERSONALIZED_EMAIL"].touches,
                  subjects=rendered_subjects,
                  health_policy=HealthPolicy(), ended=ENDED, running=RUNNING,
                  bars=actions.bars(view, HealthPolicy()))


def test_a_draft_page_has_the_review_forms_each_with_its_own_token() -> None:
    page = campaign_page("draft")
    assert '<span id="campaign-state" class="state">draft</span>' in page
    assert EVIL not in page and "&lt;script&gt;" in page  # record values are escaped
    for verb, button in (("approve", "approve"), ("reject", "reject"), ("ask", "ask"),
                         ("modify_scope", "modify-scope")):
        assert re.search(rf'<form method="post" action="/desk/campaigns/cmp-1/{verb}">\s*'
                         r'<input type="hidden" name="csrf" value="nonce\d+\.mac">', page), verb
        assert f'id="{button}"' in page
    tokens = re.findall(r'name="csrf" value="([^"]+)"', page)
    assert len(tokens) == len(set(tokens)) == 5  # four review forms and the logout
    assert '<textarea id="ask-note" name="note"' in page
    assert page.count('class="preview"') == 5 and "/desk/campaigns/cmp-1/touches/1" in page
    assert "j***@co.example" in page and 'id="pause"' not in page


def test_a_campaign_is_headed_by_its_company_name_with_the_ids_beside_it() -> None:
    h1 = re.search(r"<h1>(.*?)</h1>", campaign_page("draft"), re.S)
    assert h1 and h1.group(1).startswith("Harbor Light Roofing · PERSONALIZED_EMAIL")
    assert "campaign cmp-1" in h1.group(1) and "company cmp_0001" in h1.group(1)


def test_the_list_names_a_company_where_a_lead_card_did_else_its_id() -> None:
    rows = [{"campaign_id": f"cmp-{n}", "state": "draft", "company_sov_id": f"cmp_{n}",
             "company_name": name, "tier": "HOT", "audience": 3, "eligibility": "MAY",
             "expires_at": None} for n, name in ((1, "Harbor Light Roofing"), (2, None))]
    page = render("campaigns.html", rows=rows, more=False, q=ListQuery(), states=[],
                  tiers=[], next_url=None, prev_url=None)
    assert '<td>Harbor Light Roofing <small class="id">cmp_1</small></td>' in page
    assert "<td>cmp_2</td>" in page


def test_touches_are_listed_by_the_subject_the_sample_person_would_read() -> None:
    library = ContentLibrary.of(load_templates())
    cfg = SenderConfig(from_email="o@x", from_name="O", public_base_url="http://h",
                       unsubscribe_secret=b"u" * 32, calendar_secret=b"c" * 32,
                       content=library)
    definition = load_definitions()["PERSONALIZED_EMAIL"]
    person = {"enrollment_id": "v-1", "email": "jane@co.example", "first_name": "Jane",
              "last_name": "Doe", "title": "Owner", "company_name": "Harbor Light Roofing"}
    found = subjects(library, cfg, definition.sequence_id or "", definition.touches, {},
                     person, NOW)
    assert found[1] == "Quick question about Harbor Light Roofing"
    page = campaign_page("draft", found)
    listed = re.findall(r'<span class="subject">([^<]*)</span>', page)
    assert "Quick question about Harbor Light Roofing" in listed
    assert not any("{company_name}" in x for x in listed)
    bare = campaign_page("draft", {})  # nothing rendered: the file's title, said to be one
    assert "{company_name}" in bare and "the sequence file's title; not rendered" in bare


def test_a_running_page_shows_sends_by_status_rates_and_controls() -> None:
    page = campaign_page("active")
    assert '<td data-status="sent">12</td>' in page and '<td data-status="failed">1</td>' in page
    assert '<svg id="rates"' in page and "engagement rate" in page
    for button in ("pause", "resume", "cancel"):
        assert f'id="{button}"' in page
    assert 'id="approve"' not in page and "j***@" not in page


def test_every_rate_label_fits_inside_the_chart() -> None:
    # 13px sans-serif averages under 0.6em a character: a label past the width is cut off.
    svg = re.search(r'<svg id="rates"[^>]* width="(\d+)"(.*?)</svg>', campaign_page("active"),
                    re.S)
    assert svg
    labels = re.findall(r'<text x="(\d+)"[^>]*font-size="13">([^<]+)</text>', svg.group(2))
    assert len(labels) == 6 and any("(at least 30.0%)" in t for _, t in labels)
    for x, label in labels:
        assert int(x) + len(unescape(label)) * 0.6 * 13 <= int(svg.group(1)), label


def test_an_ended_page_shows_the_audit_findings() -> None:
    c = {"campaign_id": "cmp-2", "state": "failed", "version": 9}
    page = render("campaign.html", campaign=c, history=[], health=[], sends={},
                  sends_by_day=[], engagement={}, people=[], touches=(),
                  health_policy=HealthPolicy(), ended=ENDED, running=RUNNING, bars=[],
                  audit={"verdict": "FAIL", "findings": [
                      {"rule": "content_not_approved", "count": 2, "sample_ids": ["k-1"]}]})
    assert '<strong id="audit-verdict">FAIL</strong>' in page
    assert "content_not_approved" in page and "k-1" in page


def test_every_time_shows_in_one_form_whether_a_datetime_or_an_iso_string() -> None:
    iso = "2026-12-07T18:34:17.760035+00:00"
    draft = campaign_page("draft", expires_at=iso)
    assert "the draft expires 2026-12-07 18:34 UTC" in draft and iso not in draft
    rows = [{"campaign_id": "cmp-1", "state": "draft", "company_sov_id": "cmp_1",
             "expires_at": datetime.fromisoformat(iso)}]
    listed = render("campaigns.html", rows=rows, more=False, q=ListQuery(), states=[],
                    tiers=[], next_url=None, prev_url=None)
    assert "<td>2026-12-07 18:34 UTC</td>" in listed
    c = {"campaign_id": "cmp-2", "state": "active", "version": 4}
    running = render("campaign.html", campaign=c, history=[
        {"version": 4, "to_state": "active", "actor": "x", "occurred_at": iso}],
        health=[{"evaluated_at": "2026-12-07T20:00:00Z", "verdict": "OK"}], sends={},
        sends_by_day=[], engagement={}, people=[], touches=(), health_policy=HealthPolicy(),
        ended=ENDED, running=RUNNING, bars=[], audit=None)
    assert "<td>2026-12-07 18:34 UTC</td>" in running
    assert '<th scope="row">2026-12-07 20:00 UTC</th>' in running
    assert when(datetime(2026, 12, 7, 19, 34, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-12-07 18:34 UTC")
    assert when(None) == "-" and when("not a time") == "not a time"


def test_the_login_page_keeps_to_the_contract() -> None:
    page = render("login.html", configured=True)
    assert '<form method="post" action="/desk/login">' in page
    assert 'name="operator"' in page and 'name="token" type="password"' in page
    assert 'id="login"' in page and 'href="#main"' in page  # the skip link


def test_a_touch_is_rendered_for_the_sample_person_as_the_sender_would() -> None:
    templates = load_templates()
    library = ContentLibrary.of(templates)
    cfg = SenderConfig(from_email="o@hub.example", from_name="O",
                       public_base_url="https://hub.example", unsubscribe_secret=b"u" * 32,
                       calendar_secret=b"c" * 32, content=library)
    sequence_id, definition = definition_for(load_definitions(), {
        "strategy": "PERSONALIZED_EMAIL", "sequence_id": "personalized-email-v1"}) or ("", None)
    assert definition is not None
    digest = library.by_touch[(sequence_id, 1)]
    person = {"enrollment_id": "verdict-1", "email": "jane.doe1@co.example",
              "first_name": "Jane", "last_name": "Doe", "title": "Owner",
              "company_name": 'Doe & "Sons"'}
    p = render_preview(library, cfg, sequence_id, definition.touches[0],
                       {"company_sov_id": "cmp_1", "content_digests": [digest]}, person, NOW)
    assert p.refused is None and p.approved_digest and p.digest == digest
    assert p.subject == 'Quick question about Doe & "Sons"' and p.text is not None
    assert p.text.startswith("Hi Jane,")
    aggregate = aggregate_for(sequence_id, "verdict-1", "jane.doe1@co.example")
    assert p.unsubscribe_link == unsubscribe_url(cfg, aggregate)
    assert p.html is not None and "Doe &amp; &#34;Sons&#34;" in p.html

    page = render("touch.html", campaign={"campaign_id": "cmp-1"}, preview=p,
                  person={**person, "masked_email": mask_email(person["email"])})
    frame = re.search(r'<iframe id="html"[^>]* sandbox="" srcdoc="([^"]*)"', page)
    assert frame and unescape(frame.group(1)) == p.html  # the HTML, escaped into srcdoc
    assert f'<code id="digest">{digest}</code>' in page and "j***@co.example" in page
    intro = re.search(r"<p>email · (.*?)\.\n", page)
    assert intro and unescape(intro.group(1)) == f"“{p.subject}”", page[:800]
    assert "jane.doe1@co.example" not in page


def test_without_a_sample_person_the_preview_says_so() -> None:
    library = ContentLibrary.of(load_templates())
    cfg = SenderConfig(from_email="o@x", from_name="O", public_base_url="http://h",
                       unsubscribe_secret=b"u" * 32, content=library)
    definition = load_definitions()["PERSONALIZED_EMAIL"]
    p = render_preview(library, cfg, definition.sequence_id or "", definition.touches[0],
                       {}, None, NOW)
    assert p.refused and "no sample person" in p.refused and not p.approved_digest


def test_an_approval_form_becomes_the_apis_approve_command() -> None:
    body = actions.body_of("approve", {"csrf": "x", "window_start": "2026-12-01T09:00",
                                       "max_sends_per_day": "40", "draft_version": "2",
                                       "note": " ok "})
    command = command_from("approve", "cmp-1", body, "ann", "desk-0123456789", NOW)
    assert command.actor == "operator:ann" and command.draft_version == 2
    assert command.note == "ok" and command.approval is not None
    assert command.approval.max_sends_per_day == 40
    assert command.approval.window_start == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("verb", "form"), [
    ("approve", {"max_sends_per_hour": "-3"}),
    ("approve", {"window_end": "next tuesday"}),
    ("modify_scope", {"max_audience": "many"}),
    ("ask", {"note": "x" * 3000}),
])
def test_a_bad_form_value_is_a_400_naming_the_field(verb: str, form: dict[str, str]) -> None:
    with pytest.raises(Refusal) as caught:
        actions.body_of(verb, form)
    assert caught.value.status == 400 and next(iter(form)) in caught.value.reason


def test_the_list_filter_ignores_unknown_values_and_pages_keep_it() -> None:
    q = actions.list_query({"state": "draft", "tier": "hot", "page": "3", "company": " c1 "},
                           STATES, TIERS)
    assert q == ListQuery(state="draft", company="c1", tier="HOT", page=3)
    assert actions.page_url(q, 4) == "/desk/campaigns?state=draft&company=c1&tier=HOT&page=4"
    assert actions.list_query({"state": "nope", "page": "-1"}, STATES, TIERS) == ListQuery()


def test_masked_addresses_keep_one_letter_and_the_domain() -> None:
    assert mask_email("jane.doe@example.com") == "j***@example.com"
    assert mask_email(None) == "-" and mask_email("nonsense") == "-"


def test_rates_count_hard_bounces_only_and_prefer_the_health_verdict() -> None:
    view = {"sends": {"sent": 100}, "engagement": {"opened": 20, "replied": 5, "bounced": 40,
                                                   "hard_bounced": 6, "complained": 0}}
    engagement, bounce, complaint = actions.bars(view, HealthPolicy())
    assert (engagement["rate"], engagement["ok"]) == (0.25, False)  # below 30%
    assert (bounce["rate"], bounce["ok"]) == (0.06, False)  # soft bounces do not count
    assert (complaint["rate"], complaint["ok"]) == (0.0, True)
    assert 0 < engagement["width"] < engagement["mark"] <= 300
    health = {"engagement_rate": 0.5, "bounce_rate": 0.01, "complaint_rate": 0.002}
    engagement, bounce, complaint = actions.bars({**view, "health": [health]}, HealthPolicy())
    assert engagement["ok"] and bounce["ok"] and not complaint["ok"]
