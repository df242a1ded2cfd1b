"""`outreach-hub campaigns ...` against a stand-in for the worker's API: what it sends, what
it prints, and the exit code a script reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

from streams.cli import main
from streams.operator.campaigns_view import list_table, show_text

TOKEN = "ann-token-0123456789abcdef"


class FakeApi:
    """Answers each request with the next scripted (status, body); records what it got."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Any]] = []
        self.requests: list[dict[str, Any]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                api.requests.append({
                    "method": self.command, "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "body": orjson.loads(self.rfile.read(size)) if size else None})
                status, body = api.answers.pop(0)
                raw = orjson.dumps(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake = FakeApi()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OUTREACH_API_URL", fake.url)
    monkeypatch.setenv("OUTREACH_OPERATOR_TOKEN", TOKEN)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["campaigns", *argv])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


ROW = {"campaign_id": "cmp-1", "state": "draft", "tier": "HOT", "company_sov_id": "sov-1",
       "version": 2, "approved_by": None, "expires_at": "2026-03-09T09:00:00+00:00",
       "updated_at": "2026-03-02T09:00:00.123+00:00", "added_later": "kept"}


def test_list_json_is_an_array_scripts_can_read_over_every_page(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answers += [(200, {"campaigns": [ROW], "next_offset": 1}),
                    (200, {"campaigns": [{**ROW, "campaign_id": "cmp-2"}], "next_offset": None})]
    code, out, _ = run(capsys, "list", "--json", "--state", "draft", "--tier", "HOT")
    assert code == 0
    rows = orjson.loads(out)
    assert [r["campaign_id"] for r in rows] == ["cmp-1", "cmp-2"]
    assert {"campaign_id", "state", "company_sov_id", "tier", "added_later"} <= set(rows[0])
    first, second = api.requests
    assert first["authorization"] == f"Bearer {TOKEN}"
    assert first["path"].startswith("/api/campaigns?state=draft&tier=HOT&limit=")
    assert second["path"].endswith("offset=1")


def test_list_prints_a_table(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.answers.append((200, {"campaigns": [ROW], "next_offset": None}))
    code, out, _ = run(capsys, "list")
    assert code == 0
    header, row, total = out.strip().splitlines()
    assert header.split()[:4] == ["campaign", "state", "tier", "company"]
    assert row.split()[:5] == ["cmp-1", "draft", "HOT", "sov-1", "2"]
    assert "2026-03-09 09:00:00" in row and total == "1 campaign(s)"


def test_an_accepted_approval_exits_0_and_sends_the_terms(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.answers.append((200, {"status": "accepted", "campaign_id": "cmp-1", "state": "active",
                              "version": 3, "command_id": "cli-1"}))
    code, out, err = run(capsys, "approve", "cmp-1", "--operator", "ann", "--note", "ok",
                         "--window-start", "2026-03-02T09:00:00Z", "--max-per-day", "100")
    assert (code, err) == (0, "")
    assert out.strip().startswith("approved cmp-1: now active (version 3")
    (req,) = api.requests
    assert (req["method"], req["path"]) == ("POST", "/api/campaigns/cmp-1/approve")
    body = req["body"]
    assert body["operator"] == "ann" and body["note"] == "ok"
    assert body["approval"] == {"window_start": "2026-03-02T09:00:00Z", "max_sends_per_day": 100}
    assert body["command_id"].startswith("cli-")


@pytest.mark.parametrize(("status", "body", "code", "line"), [
    (409, {"status": "refused", "reason": "a health pause is lifted only by a new approval"},
     1, "error: resume cmp-1 refused: a health pause is lifted only by a new approval"),
    (403, {"status": "refused", "error": "the token is operator bob's, not ann's"},
     1, "error: resume cmp-1 refused: the token is operator bob's, not ann's"),
    (401, {"status": "refused", "error": "missing or unknown operator token"},
     2, "error: the hub's API answered 401: missing or unknown operator token"),
    (503, {"status": "refused", "error": "operator API disabled: no OUTREACH_OPERATOR_TOKENS"},
     2, "error: the hub's API answered 503: operator API disabled: no OUTREACH_OPERATOR_TOKENS"),
    (202, {"status": "pending", "command_id": "cli-1"}, 3,
     "error: the hub gave no verdict on resume cmp-1 in time"),
])
def test_a_refusal_is_one_error_line_and_a_non_zero_exit(
    api: FakeApi, capsys: pytest.CaptureFixture[str], status: int, body: Any, code: int,
    line: str
) -> None:
    api.answers.append((status, body))
    got, out, err = run(capsys, "resume", "cmp-1", "--operator", "ann")
    assert got == code and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(line)


def test_an_unreachable_api_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OUTREACH_API_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("OUTREACH_OPERATOR_TOKEN", TOKEN)
    code, _, err = run(capsys, "pause", "cmp-1", "--operator", "ann")
    assert code == 2
    assert err.strip() == ("error: cannot reach the hub's API at http://127.0.0.1:1 "
                           "(ConnectionRefusedError); set OUTREACH_API_URL")
    monkeypatch.setenv("OUTREACH_API_URL", "http://ann:pw@127.0.0.1:1")
    code, _, err = run(capsys, "pause", "cmp-1", "--operator", "ann")
    assert code == 2 and "pw" not in err
    assert err.strip().startswith("error: OUTREACH_API_URL must not carry credentials")


def test_without_a_token_nothing_is_called(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OUTREACH_OPERATOR_TOKEN", raising=False)
    code, _, err = run(capsys, "list")
    assert code == 2 and err.strip() == "error: set OUTREACH_OPERATOR_TOKEN (your operator token)"


def test_show_tells_the_story_and_what_is_not_recorded() -> None:
    text = show_text({
        "campaign": {**ROW, "state": "active", "version": 3, "approved_by": "operator:ann",
                     "approved_at": "2026-03-02T10:00:00+00:00"},
        "history": [
            {"version": 1, "occurred_at": "2026-03-02T09:00:00+00:00", "from_state": None,
             "to_state": "draft", "actor": "system:gate", "reason": None},
            {"version": 2, "occurred_at": "2026-03-02T10:00:00+00:00", "from_state": "draft",
             "to_state": "active", "actor": "operator:ann", "reason": "looks right"}],
        "health": [{"evaluated_at": "2026-03-02T11:00:00+00:00", "verdict": "HEALTHY",
                    "sends": 40, "complaint_rate": 0.0}],
        "audit": []})
    assert "state       active (version 3)" in text
    assert "approved by operator:ann at 2026-03-02 10:00:00" in text.splitlines()
    assert "-    -> draft" not in text and "- -> draft" in text
    assert "draft -> active  operator:ann  looks right" in text
    assert "HEALTHY  sends=40 complaint_rate=0.0" in text
    assert text.endswith("audit\n  none recorded")


def test_show_names_the_health_verdict_an_approval_must_override() -> None:
    cid = ROW["campaign_id"]
    text = show_text({
        "campaign": {**ROW, "state": "paused", "version": 5, "health_verdict_id": "hv-domain"},
        "history": [],
        "health": [{"evaluated_at": "2026-03-02T11:00:00+00:00", "verdict": "PAUSE",
                    "verdict_id": "hv-own"},
                   {"evaluated_at": "2026-03-02T12:00:00+00:00", "verdict": "PAUSE",
                    "verdict_id": "hv-domain"}],
        "audit": []})
    assert (f"paused by   health verdict hv-domain: only `campaigns approve {cid} "
            "--overrides-health-verdict hv-domain` lifts it") in text.splitlines()
    assert "  2026-03-02 11:00:00  PAUSE  id=hv-own" in text.splitlines()
    unpaused = show_text({"campaign": {**ROW, "state": "active"}, "history": [],
                          "health": [], "audit": []})
    assert "paused by" not in unpaused


def test_an_empty_list_says_so() -> None:
    assert list_table([]) == "no campaigns"
