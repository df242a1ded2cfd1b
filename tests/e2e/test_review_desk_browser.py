"""The review desk in a real browser (Debian's chromium under Selenium) against a running
worker on the real broker and PostgreSQL, as a reviewer meets it: a lead batch makes a draft
campaign wait; the reviewer logs in, finds the draft, previews a touch rendered for one of its
real persons, approves it, sees it become active and its sends rise, and once logged out is
refused again.

The screenshots in docs/screenshots are this test's (WRITE_SCREENSHOTS=1).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from confluent_kafka import Producer
from selenium.webdriver.common.by import By

from agents.campaigns.identity import campaign_id_for
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.browser import chromium, require_chromium, screenshot_dir, shoot, until
from tests.e2e.test_intake_gate_e2e import SCORES, card, good_batch, score

pytestmark = pytest.mark.e2e

TOKEN = "ann-desk-e2e-0123456789abcdef"
COMPANY = "cmp_harbor"
COMPANY_NAME = "Harbor Light Roofing"
HARBOR = campaign_id_for(COMPANY, "PERSONALIZED_EMAIL")
PEOPLE = (("Marisol", "Okafor", "Owner"), ("Ingrid", "Halvorsen", "Operations Director"),
          ("Tomasz", "Wierzbicki", "General Manager"), ("Aiyana", "Castellanos", "Founder"))


def harbor_batch() -> dict[str, Any]:
    """One HOT company's people, each with a name the preview must show."""
    records = [card(f"l-harbor-{n}", COMPANY, company_name=COMPANY_NAME, contact={
        "email": f"{first.lower()}.{last.lower()}@cmp-harbor.example", "email_verified": True,
        "first_name": first, "last_name": last, "title": title, "timezone": "America/Chicago"})
        for n, (first, last, title) in enumerate(PEOPLE)]
    return {**good_batch("sxp_desk_harbor"), "records": records}


@pytest.fixture
async def worker(broker: str, database_url: str, tmp_path: Path
                 ) -> AsyncIterator[WorkerProcess]:
    require_chromium()  # before the worker: a skip costs nothing
    await prepare(Settings(topic_partitions=2), broker, database_url)
    log = tmp_path / "worker.log"
    proc = WorkerProcess.start(broker, database_url, log, {
        "OUTREACH_APP_ID": f"desk-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(tmp_path / "var"), "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_OPERATOR_TOKENS": f"ann:{TOKEN}",
        # Any hour, any day: the sends after the approval do not wait for a window.
        "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
        "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        # A person held by the draft is looked at again this soon after the approval.
        "OUTREACH_SEQUENCER_CAMPAIGN_RECHECK_SECONDS": "2",
        "OUTREACH_CAMPAIGN_CHECK_SECONDS": "0.5", "OUTREACH_SANDBOX_ENGAGEMENT": "false",
        "OUTREACH_GATE_MAX_WAIT_SECONDS": "600"})
    try:
        proc.wait_ready(90)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()[-3000:]
        assert TOKEN not in log.read_text()


def publish(broker: str) -> None:
    producer = Producer({"bootstrap.servers": broker})
    for company, value in {**SCORES, "cmp_late": 55, COMPANY: 62}.items():
        producer.produce("bit-engine.score.evaluated", key=company, value=score(company, value))
    for batch in (good_batch("sxp_desk_mixed"), harbor_batch()):
        producer.produce("social-xpress.lead-batch.ready", key=batch["batch_id"],
                         value=json.dumps(batch).encode())
    assert producer.flush(10) == 0


async def fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def wait_rows(url: str, sql: str, ok: Any, seconds: float) -> list[asyncpg.Record]:
    deadline, found = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        found = await fetch(url, sql)
        if ok(found):
            return found
        time.sleep(0.3)
    raise AssertionError(f"not reached within {seconds}s: {sql} -> {found}")


def path(browser: Any) -> str:
    return urlsplit(browser.current_url).path


def text(browser: Any, css: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, css).text).strip()


def shows_harbor(browser: Any) -> bool:
    return any(x in browser.page_source for x in (HARBOR, COMPANY, COMPANY_NAME))


def sent(browser: Any) -> int:
    cells = browser.find_elements(By.CSS_SELECTOR, '#sends td[data-status="sent"]')
    return sum(int(c.text.strip() or 0) for c in cells)


async def test_a_reviewer_previews_approves_and_watches_a_draft_go_out(
    worker: WorkerProcess, broker: str, database_url: str, tmp_path: Path
) -> None:
    publish(broker)
    await wait_rows(database_url, f"SELECT audience FROM outreach.campaigns WHERE campaign_id "
                    f"= '{HARBOR}' AND state = 'draft'", lambda r: r and r[0][0] == len(PEOPLE),
                    60)
    shots = screenshot_dir(tmp_path)
    desk = f"http://127.0.0.1:{worker.web_port}/desk"
    with chromium() as browser:
        # Without a session: the login, and nothing of a campaign.
        for page in ("/campaigns", f"/campaigns/{HARBOR}"):
            browser.get(desk + page)
            assert path(browser) == "/desk/login", page
            assert not shows_harbor(browser), page
        shoot(browser, shots, "login")

        browser.find_element(By.NAME, "operator").send_keys("ann")
        browser.find_element(By.NAME, "token").send_keys(TOKEN)
        browser.find_element(By.ID, "login").click()
        until("the campaigns list after the login", lambda: path(browser) == "/desk/campaigns",
              15)
        cookie = browser.get_cookie("outreach_desk")
        assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie
        assert TOKEN not in cookie["value"]

        # The waiting draft, drafts first.
        rows = browser.find_elements(By.CSS_SELECTOR, "#campaigns tr[data-campaign-id]")
        states = [("draft" in r.text.lower()) for r in rows]
        assert states == sorted(states, reverse=True), [r.text for r in rows]
        [row] = [r for r in rows if r.get_attribute("data-campaign-id") == HARBOR]
        assert "draft" in row.text.lower() and COMPANY in row.text, row.text
        assert COMPANY_NAME in row.text, row.text  # the lead cards' name, beside the id
        shoot(browser, shots, "campaigns")
        row.find_element(By.CSS_SELECTOR, f'a[href$="/campaigns/{HARBOR}"]').click()
        until("the draft's page", lambda: path(browser) == f"/desk/campaigns/{HARBOR}", 15)
        assert text(browser, "#campaign-state") == "draft"
        heading = text(browser, "h1")
        assert heading.startswith(COMPANY_NAME), heading
        assert HARBOR in heading and COMPANY in heading, heading
        for button in ("approve", "reject", "ask", "modify-scope"):
            assert browser.find_element(By.ID, button).is_displayed(), button
        shoot(browser, shots, "draft-review")

        # Touch 1 as it would be sent, rendered for one of the draft's real persons.
        browser.find_elements(By.CSS_SELECTOR, "a.preview")[0].click()
        until("the touch preview", lambda: "/touches/" in path(browser), 15)
        subject, body = text(browser, "#subject"), text(browser, "#text")
        assert subject == f"Quick question about {COMPANY_NAME}", subject
        [person] = [p for p in PEOPLE if f"Hi {p[0]}," in body]
        assert f"As {person[2]} at {COMPANY_NAME}" in body
        assert "/unsubscribe?" in body and "/calendar/book?" in body
        assert len(text(browser, "#digest")) >= 16
        browser.switch_to.frame(browser.find_element(By.ID, "html"))
        assert person[0] in browser.find_element(By.TAG_NAME, "body").text
        browser.switch_to.default_content()
        shoot(browser, shots, "touch-preview")

        browser.back()
        until("back on the draft", lambda: path(browser) == f"/desk/campaigns/{HARBOR}", 15)
        browser.find_element(By.ID, "approve").click()
        until("the approval answered", lambda: browser.execute_script(
            "return document.readyState") == "complete", 15)
        browser.get(f"{desk}/campaigns/{HARBOR}")
        until("the campaign active", lambda: text(browser, "#campaign-state") == "active", 30,
              between=browser.refresh)
        until("sends counted", lambda: sent(browser) > 0, 40, between=browser.refresh)
        for button in ("pause", "cancel"):
            assert browser.find_element(By.ID, button).is_displayed(), button
        shoot(browser, shots, "campaign-health")
        [approved] = await fetch(database_url, f"SELECT approved_by FROM outreach.campaigns "
                                 f"WHERE campaign_id = '{HARBOR}'")
        assert approved[0] == "operator:ann"

        browser.get(f"{desk}/pipeline")
        assert path(browser) == "/desk/pipeline"
        shoot(browser, shots, "pipeline")

        session = browser.get_cookie("outreach_desk")
        browser.find_element(By.ID, "logout").click()
        until("the login after the logout", lambda: path(browser) == "/desk/login", 15)
        # Refused, and so is the cookie the browser held before: the session itself is over.
        for cookie in (None, session):
            if cookie is not None:
                browser.add_cookie({k: cookie[k] for k in ("name", "value", "path")})
            browser.get(f"{desk}/campaigns")
            assert path(browser) == "/desk/login"
            assert not shows_harbor(browser), cookie
