"""The review desk on a running worker (real broker and PostgreSQL), over plain HTTP as a
browser would speak it: a person logs in with their operator credentials, finds the draft the
pipeline made from real lead cards, previews a touch rendered for a sample person of it, and
approves it through the form; forged cookies, missing or replayed form tokens and a logged-out
cookie are refused."""

from __future__ import annotations

import hashlib
import http.client
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import asyncpg
import orjson
import pytest
from confluent_kafka import Producer

from streams import sample
from streams.embedded import EmbeddedBroker
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare

pytestmark = pytest.mark.e2e

TOKEN = "ann-desk-e2e-0123456789abcdef"
ONCE = "once-desk-e2e-0123456789"  # the demo's kind of login
Response = tuple[int, dict[str, str], str]


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("desk")


@pytest.fixture(scope="module")
def broker(module_tmp: Path) -> Iterator[str]:
    b = EmbeddedBroker(log_path=module_tmp / "tansu.log").start()
    yield b.bootstrap
    b.stop()


@pytest.fixture(scope="module")
async def module_database(postgres_server_url: str) -> AsyncIterator[str]:
    from urllib.parse import urlsplit

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def worker(broker: str, module_database: str, module_tmp: Path
                 ) -> AsyncIterator[WorkerProcess]:
    await prepare(Settings(topic_partitions=2), broker, module_database)
    log = module_tmp / "worker.log"
    proc = WorkerProcess.start(broker, module_database, log, {
        "OUTREACH_APP_ID": f"desk-{uuid.uuid4().hex[:8]}", "OUTREACH_TOPIC_PARTITIONS": "2",
        "OUTREACH_DATA_DIR": str(module_tmp / "var"), "OUTREACH_WEB_HOST": "127.0.0.1",
        "OUTREACH_SANDBOX_ENGAGEMENT": "false", "OUTREACH_CAMPAIGN_CHECK_SECONDS": "0.5",
        "OUTREACH_OPERATOR_TOKENS": f"ann:{TOKEN}",
        "OUTREACH_DESK_ONE_TIME_CODES": f"demo:{hashlib.sha256(ONCE.encode()).hexdigest()}"})
    try:
        proc.wait_ready(120)
        yield proc
    finally:
        assert proc.stop() == 0, log.read_text()[-3000:]
        text = log.read_text()
        assert TOKEN not in text and "@company" not in text  # no token, no address logged
        assert "desk: approve" in text and "operator:ann" in text


def call(worker: WorkerProcess, method: str, target: str, cookie: str | None = None,
         form: dict[str, str] | None = None) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", worker.web_port, timeout=60)
    headers = {}
    if cookie is not None:
        headers["Cookie"] = f"outreach_desk={cookie}"
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, target, body=None if form is None else urlencode(form),
                     headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def login(worker: WorkerProcess) -> str:
    status, headers, _ = call(worker, "POST", "/desk/login",
                              form={"operator": "ann", "token": TOKEN})
    assert status == 303 and headers["location"] == "/desk/campaigns"
    cookie = headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/desk"):
        assert attribute in cookie
    assert "Secure" not in cookie  # the public URL is http here
    found = re.match(r"outreach_desk=([^;]+)", cookie)
    assert found
    return found.group(1)


def csrf_of(page: str, verb: str) -> str:
    form = re.search(rf'action="/desk/campaigns/[^"]+/{verb}">\s*<input type="hidden" '
                     r'name="csrf" value="([^"]+)"', page)
    assert form, f"no {verb} form"
    return form.group(1)


async def wait_for(url: str, sql: str, ok: object, seconds: float) -> list[asyncpg.Record]:
    deadline, found = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        conn = await asyncpg.connect(url)
        try:
            found = list(await conn.fetch(sql))
        finally:
            await conn.close()
        if ok(found):  # type: ignore[operator]
            return found
        time.sleep(0.5)
    raise AssertionError(f"not reached within {seconds}s: {sql} -> {found}")


def publish(broker: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": broker})
    for key, value in records:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(20) == 0


async def test_a_reviewer_previews_and_approves_a_draft_and_forgeries_are_refused(
    worker: WorkerProcess, broker: str, module_database: str
) -> None:
    # Without a session: the login, and nothing of a campaign.
    status, headers, body = call(worker, "GET", "/desk/campaigns")
    assert (status, headers["location"]) == (303, "/desk/login")
    status, _, body = call(worker, "GET", "/desk/login")
    assert status == 200 and 'name="token"' in body and 'id="login"' in body
    status, headers, body = call(worker, "POST", "/desk/login",
                                 form={"operator": "ann", "token": TOKEN[:-1] + "x"})
    assert status == 401 and "set-cookie" not in headers and "wrong token" in body

    # Real lead cards of two HOT companies go through intake, the gate and the campaign stage.
    batch = sample.lead_batch(f"sxp_desk_{uuid.uuid4().hex[:6]}", 12, 2)
    scores = sample.bit_scores(2, scores=(66,))
    publish(broker, "bit-engine.score.evaluated",
            [(s["company_sov_id"].encode(), orjson.dumps(s)) for s in scores])
    publish(broker, "social-xpress.lead-batch.ready",
            [(batch["batch_id"].encode(), orjson.dumps(batch))])
    drafts = await wait_for(module_database, "SELECT campaign_id, "
                            "content_digests::text FROM outreach.campaigns WHERE state = "
                            "'draft' ORDER BY 1", lambda r: len(r) >= 1, 90)
    campaign, digests = drafts[0]
    await wait_for(module_database, "SELECT count(*) FROM outreach.lead_cards",
                   lambda r: r[0][0] == 12, 30)

    cookie = login(worker)
    status, _, listing = call(worker, "GET", "/desk/campaigns", cookie)
    assert status == 200 and 'id="campaigns"' in listing
    assert f'data-campaign-id="{campaign}"' in listing
    status, _, page = call(worker, "GET", f"/desk/campaigns/{campaign}", cookie)
    assert status == 200 and '<span id="campaign-state" class="state">draft</span>' in page
    assert 'id="approve"' in page and 'id="ask"' in page and 'id="modify-scope"' in page
    assert "***@" in page  # the sample's addresses are masked

    # The preview renders touch 1 for the sample person: their real merge fields.
    previews = re.findall(r'class="preview" href="([^"]+)"', page)
    assert previews and previews[0].endswith("/touches/1")
    status, _, preview = call(worker, "GET", previews[0], cookie)
    assert status == 200, preview
    person = re.search(r"sample person (\w+) (\w+) \((\w)\*\*\*@", preview)
    assert person, preview
    first = person.group(1)
    card = next(c["enrichment"] for c in batch["records"]
                if c.get("enrichment", {}).get("contact", {}).get("first_name") == first)
    text = unescape(re.search(r'<pre id="text">(.*?)</pre>', preview, re.S).group(1))
    assert text.startswith(f"Hi {first},") and card["company_name"] in text
    assert "/unsubscribe?a=" in text and "/calendar/book?" in text
    subject = unescape(re.search(r'<p id="subject">(.*?)</p>', preview).group(1))
    assert subject == f"Quick question about {card['company_name']}"
    digest = re.search(r'<code id="digest">([^<]+)</code>', preview).group(1)
    assert digest in orjson.loads(digests)
    assert '<iframe id="html"' in preview and 'sandbox=""' in preview

    # A forged cookie (another operator's name, the same signature) is no session.
    sid, operator, expires, mac = cookie.split(".")
    for forged in (f"{sid}.bob.{expires}.{mac}", f"{sid}.{operator}.{int(expires) + 9}.{mac}",
                   "x" * 40):
        status, headers, body = call(worker, "GET", f"/desk/campaigns/{campaign}", forged)
        assert (status, headers["location"]) == (303, "/desk/login") and campaign not in body

    # Missing and foreign form tokens are refused, and nothing reaches the hub.
    status, _, body = call(worker, "POST", f"/desk/campaigns/{campaign}/approve", cookie,
                           form={})
    assert status == 403 and "no security token" in body
    status, _, body = call(worker, "POST", f"/desk/campaigns/{campaign}/approve", cookie,
                           form={"csrf": "made-up.token"})
    assert status == 403

    # Approve through the form: the hub's verdict, back on the page.
    token = csrf_of(page, "approve")
    form = {"csrf": token, "max_sends_per_day": "40", "draft_version": "1"}
    started = time.monotonic()
    status, headers, body = call(worker, "POST", f"/desk/campaigns/{campaign}/approve",
                                 cookie, form=form)
    assert status == 303, body
    print(f"\ndesk approve -> hub verdict -> redirect: {time.monotonic() - started:.2f}s")
    assert headers["location"] == f"/desk/campaigns/{campaign}"
    status, _, page = call(worker, "GET", f"/desk/campaigns/{campaign}", cookie)
    assert '<span id="campaign-state" class="state">active</span>' in page
    assert "approve: accepted by the hub; the campaign is now active" in page
    assert 'id="sends"' in page and 'id="pause"' in page
    [row] = await wait_for(module_database, f"SELECT state, approved_by, max_sends_per_day "
                           f"FROM outreach.campaigns WHERE campaign_id = '{campaign}'",
                           lambda r: r and r[0][0] == "active", 30)
    assert (row[1], row[2]) == ("operator:ann", 40)

    # The same form again: a replay, refused.
    status, _, body = call(worker, "POST", f"/desk/campaigns/{campaign}/approve", cookie,
                           form=form)
    assert status == 403 and "already sent once" in body

    # A refused action shows the hub's reason.
    status, _, body = call(worker, "POST", f"/desk/campaigns/{campaign}/resume", cookie,
                           form={"csrf": csrf_of(page, "resume")})
    assert status == 409 and "refused" in body

    status, _, pipeline = call(worker, "GET", "/desk/pipeline", cookie)
    assert status == 200 and 'id="flow"' in pipeline and "intake" in pipeline

    # Log out: the old cookie is refused from then on.
    status, headers, _ = call(worker, "POST", "/desk/logout", cookie,
                              form={"csrf": csrf_of_logout(page)})
    assert (status, headers["location"]) == (303, "/desk/login")
    status, headers, body = call(worker, "GET", "/desk/campaigns", cookie)
    assert (status, headers["location"]) == (303, "/desk/login") and campaign not in body


def csrf_of_logout(page: str) -> str:
    found = re.search(r'action="/desk/logout"><input type="hidden" name="csrf" value="([^"]+)"',
                      page)
    assert found
    return found.group(1)


def test_a_one_time_login_works_once(worker: WorkerProcess) -> None:
    status, headers, _ = call(worker, "GET", f"/desk/login/once?code={ONCE}")
    assert (status, headers["location"]) == (303, "/desk/campaigns")
    cookie = re.match(r"outreach_desk=([^;]+)", headers["set-cookie"])
    assert cookie and cookie.group(1).split(".")[1] == "demo"
    assert call(worker, "GET", "/desk/campaigns", cookie.group(1))[0] == 200
    status, headers, body = call(worker, "GET", f"/desk/login/once?code={ONCE}")
    assert status == 401 and "set-cookie" not in headers and "already used" in body


async def test_thousands_of_campaigns_page_with_drafts_first(
    worker: WorkerProcess, module_database: str
) -> None:
    conn = await asyncpg.connect(module_database)
    try:
        await conn.executemany(
            "INSERT INTO outreach.campaigns (campaign_id, state, version, tier, company_sov_id, "
            "expires_at, updated_at) VALUES ($1, $2, 1, 'HOT', $3, "
            "now() + make_interval(hours => $4), now() - make_interval(secs => $4))",
            [(f"cmp-page-{n:05d}", "draft" if n % 10 == 0 else "completed", f"sov-{n % 7}", n)
             for n in range(3000)])
    finally:
        await conn.close()
    cookie = login(worker)
    started = time.monotonic()
    status, _, first = call(worker, "GET", "/desk/campaigns", cookie)
    elapsed = time.monotonic() - started
    print(f"\ncampaigns list, first page of 3000+: {elapsed * 1000:.0f} ms")
    assert status == 200 and elapsed < 5
    ids = re.findall(r'<tr data-campaign-id="([^"]+)">', first)
    states = re.findall(r'<td class="state">(\w+)</td>', first)
    assert len(ids) == 50 and set(states) == {"draft"}  # 300 drafts wait: they come first
    assert ids[0] == "cmp-page-00000"  # the soonest expiry first
    following = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert following and unescape(following.group(1)) == "/desk/campaigns?page=2"

    status, _, filtered = call(worker, "GET", "/desk/campaigns?state=completed&company=sov-3"
                                              "&page=2", cookie)
    rows = re.findall(r'<tr data-campaign-id="cmp-page-(\d+)">', filtered)
    assert status == 200 and len(rows) == 50
    assert all(int(n) % 7 == 3 and int(n) % 10 for n in rows)
    assert 'rel="prev"' in filtered and 'rel="next"' in filtered
