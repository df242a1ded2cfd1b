"""`outreach-hub gate explain`: prints exactly gate_lead(...) for one card and score; bad input
exits 2 with the reason on stderr, nothing on stdout, and never the card's email address."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.gate.policy import GatePolicy
from agents.gate.rules import gate_lead
from streams import cli
from streams.contracts.models.bit_score import BitScoreEvaluated
from streams.contracts.models.lead_batch import LeadCard

EMAIL = "jane.doe@acmeroofing.com"
DROP = object()

CARD: dict[str, Any] = {
    "lead_id": "5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c", "source_platform": "tiktok",
    "username": "janedoe_roofs", "display_name": "Jane Doe", "audience_pool": "wholesalers",
    "persona": "owner", "tribe": "dealmakers", "execution_label": "USER",
    "confidence_score": 0.82, "enrichment_status": "ENRICHED", "contactability_score": 0.64,
    "created_at": "2026-01-11T18:20:00Z", "sxp_campaign_hint": "kept-verbatim",
    "enrichment": {
        "company_sov_id": "cmp_8f2c1a", "company_name": "Acme Roofing",
        "domain": "acmeroofing.com", "domain_verified": True,
        "email_pattern": "{first}.{last}@acmeroofing.com", "lifecycle_state": "TARGETABLE",
        "contact": {"email": EMAIL, "email_verified": True, "first_name": "Jane",
                    "last_name": "Doe", "title": "Owner", "timezone": "America/Chicago"},
    },
}


def card(**changes: Any) -> dict[str, Any]:
    """CARD with enrichment changes; `contact__x` reaches into the contact, `card__x` the card."""
    doc = copy.deepcopy(CARD)
    for key, value in changes.items():
        scope, _, name = key.rpartition("__")
        target = {"": doc["enrichment"], "contact": doc["enrichment"].get("contact"),
                  "card": doc}[scope]
        if value is DROP:
            target.pop(name, None)
        else:
            target[name] = value
    return doc


def score(value: float, lifecycle: str | None = "TARGETABLE") -> dict[str, Any]:
    return {"company_sov_id": "cmp_8f2c1a", "outreach_id": "out-1", "bit_score": value,
            "bit_tier": "SILVER", "correlation_id": "bit-cmp_8f2c1a-7",
            "lifecycle_state": lifecycle, "evaluated_at": "2026-01-11T18:00:00Z"}


def expected(document: dict[str, Any]) -> dict[str, Any]:
    enr = LeadCard.model_validate(document["lead_card"]).enrichment
    raw = document.get("bit_score")
    s = BitScoreEvaluated.model_validate(raw) if raw is not None else None
    v = gate_lead(enr, s.bit_score if s else None, GatePolicy(),
                  fallback_lifecycle=s.lifecycle_state if s else None)
    return v.model_dump(mode="json")


def doc(lead_card: dict[str, Any], bit: dict[str, Any] | None) -> dict[str, Any]:
    return {"lead_card": lead_card, "bit_score": bit}


# name -> (document, the verdict a user reads)
VALID: dict[str, tuple[dict[str, Any], str]] = {
    "0": (doc(card(), score(0)), "DO_NOT_CONTACT"),
    "24.99": (doc(card(), score(24.99)), "DO_NOT_CONTACT"),
    "25": (doc(card(), score(25)), "CONTENT_ONLY"),
    "49.99": (doc(card(), score(49.99)), "CONTENT_ONLY"),
    "50": (doc(card(), score(50)), "ALLOW"),
    "74.99": (doc(card(), score(74.99)), "ALLOW"),
    "75": (doc(card(), score(75)), "ALLOW"),
    "100": (doc(card(), score(100)), "ALLOW"),
    "no score": (doc(card(), None), "BLOCKED"),
    "bit_score omitted": ({"lead_card": card()}, "BLOCKED"),
    "domain unverified": (doc(card(domain_verified=False), score(80)), "BLOCKED"),
    "email unverified": (doc(card(contact__email_verified=False), score(80)), "BLOCKED"),
    "no contact": (doc(card(contact=DROP), score(80)), "BLOCKED"),
    "email a@b": (doc(card(contact__email="a@b"), score(80)), "BLOCKED"),
    "email at a subdomain": (doc(card(contact__email="jane@mail.acmeroofing.com"), score(80)),
                             "ALLOW"),
    "email at another domain": (doc(card(contact__email="jane@evil.com"), score(80)), "BLOCKED"),
    "no enrichment": (doc(card(card__enrichment=DROP), score(80)), "BLOCKED"),
    "lifecycle from the score": (
        doc(card(lifecycle_state=DROP), score(80, "TARGETABLE")), "ALLOW"),
    "lifecycle from the score, below": (
        doc(card(lifecycle_state=DROP), score(80, "IDENTIFIED")), "BLOCKED"),
}

# name -> (stdin bytes, a word the reason must contain)
INVALID: dict[str, tuple[bytes, str]] = {
    "not JSON": (b'{"lead_card": ' + EMAIL.encode() + b"}", "not valid JSON"),
    "empty input": (b"", "not valid JSON"),
    "not an object": (b"[]", "lead_card"),
    "missing lead_card": (orjson.dumps({"bit_score": score(60)}), "lead_card"),
    "lead_card not an object": (orjson.dumps({"lead_card": EMAIL}), "lead_card: "),
    "bad source_platform": (orjson.dumps(doc(card(card__source_platform=EMAIL), score(60))),
                            "source_platform"),
    "lead_card missing lead_id": (orjson.dumps(doc(card(card__lead_id=DROP), score(60))),
                                  "lead_id"),
    "naive created_at": (orjson.dumps(doc(card(card__created_at="2026-01-11T18:20:00"), None)),
                         "time zone"),
    "confidence above 1": (orjson.dumps(doc(card(card__confidence_score=1.5), None)),
                           "confidence_score"),
    "contact not an object": (orjson.dumps(doc(card(contact=EMAIL), score(60))), "contact"),
    "email_verified not a bool": (
        orjson.dumps(doc(card(contact__email_verified=EMAIL), score(60))), "email_verified"),
    "bit_score above 100": (orjson.dumps(doc(card(), score(101))), "bit_score"),
    "bit_score negative": (orjson.dumps(doc(card(), score(-0.01))), "bit_score"),
    "bit_score a bare number": (orjson.dumps(doc(card(), 60)), "bit_score: "),  # type: ignore[arg-type]
    "bit_score without evaluated_at": (
        orjson.dumps(doc(card(), {k: v for k, v in score(60).items() if k != "evaluated_at"})),
        "evaluated_at"),
    "bit_score naive evaluated_at": (
        orjson.dumps(doc(card(), score(60) | {"evaluated_at": "2026-01-11T18:00:00"})),
        "time zone"),
    "extra top-level field": (orjson.dumps(doc(card(), score(60)) | {"debug": True}),
                              "unexpected field(s): debug"),
}


# ---- in-process: the long tables ---------------------------------------------------------------

def run_main(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: bytes = b""
             ) -> tuple[int, bytes, str]:
    for name in list(os.environ):
        if name.startswith("OUTREACH_"):
            monkeypatch.delenv(name)
    out = io.BytesIO()
    err = io.StringIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", err)
    rc = cli.main(argv)
    stdout.flush()
    return rc, out.getvalue(), err.getvalue()


BOUNDARY_SCORES = [0, 24, 24.99, 25, 49, 49.99, 50, 74, 74.99, 75, 100, None]
CARD_VARIANTS: dict[str, dict[str, Any]] = {
    "valid": card(),
    "company_sov_id missing": card(company_sov_id=DROP),
    "domain missing": card(domain=DROP),
    "domain unverified": card(domain_verified=False),
    "email_pattern missing": card(email_pattern=DROP),
    "lifecycle IDENTIFIED": card(lifecycle_state="IDENTIFIED"),
    "lifecycle UNKNOWN": card(lifecycle_state="UNKNOWN"),
    "lifecycle outside the order": card(lifecycle_state="PROSPECT"),
    "lifecycle null": card(lifecycle_state=None),
    "contact missing": card(contact=DROP),
    "contact email missing": card(contact__email=DROP),
    "contact email unverified": card(contact__email_verified=False),
    "contact email a@b": card(contact__email="a@b"),
    "contact email at another domain": card(contact__email="jane@evil.com"),
    "no enrichment": card(card__enrichment=DROP),
}


@pytest.mark.parametrize("value", BOUNDARY_SCORES)
@pytest.mark.parametrize("variant", list(CARD_VARIANTS))
def test_in_process_prints_exactly_gate_lead(
    monkeypatch: pytest.MonkeyPatch, variant: str, value: float | None
) -> None:
    document = doc(CARD_VARIANTS[variant], None if value is None else score(value))
    rc, out, err = run_main(monkeypatch, ["gate", "explain"], orjson.dumps(document))
    assert (rc, err) == (0, "")
    printed = json.loads(out)
    assert printed == expected(document)
    assert set(printed) == {"verdict", "tier", "strategy", "reasons", "error_code"}
    # A card without a lifecycle takes the score's (TARGETABLE here).
    breached = variant not in ("valid", "lifecycle null")
    if breached or (variant == "lifecycle null" and value is None):
        assert printed["verdict"] == "BLOCKED"
    elif value is None:
        assert printed["reasons"] == ["bit_score_missing"]
    else:
        assert (printed["verdict"] == "ALLOW") == (value >= 50)


@pytest.mark.parametrize("name", list(VALID))
def test_in_process_valid_table(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    document, verdict = VALID[name]
    rc, out, err = run_main(monkeypatch, ["gate", "explain"], orjson.dumps(document))
    assert (rc, err) == (0, "")
    assert json.loads(out) == expected(document)
    assert json.loads(out)["verdict"] == verdict


@pytest.mark.parametrize("name", list(INVALID))
def test_in_process_invalid_input_exits_2(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    stdin, word = INVALID[name]
    rc, out, err = run_main(monkeypatch, ["gate", "explain"], stdin)
    assert rc == 2
    assert out == b""
    assert err.startswith("error: ")
    assert word in err
    assert EMAIL not in err
    assert "@" not in err


def test_in_process_policy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    document = orjson.dumps(doc(card(), score(55)))
    rc, out, _ = run_main(monkeypatch, ["gate", "explain"], document)
    assert (rc, json.loads(out)["verdict"]) == (0, "ALLOW")
    monkeypatch.setenv("OUTREACH_GATE_HOT_FROM", "60")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(document), encoding="utf-8"))
    out_buf = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out_buf, encoding="utf-8"))
    assert cli.main(["gate", "explain"]) == 0
    sys.stdout.flush()
    assert json.loads(out_buf.getvalue())["verdict"] == "CONTENT_ONLY"


def test_in_process_input_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "lead.json"
    document = doc(card(contact__email_verified=False), score(90))
    path.write_bytes(orjson.dumps(document))
    rc, out, _ = run_main(monkeypatch, ["gate", "explain", "--input", str(path)])
    assert rc == 0
    assert json.loads(out) == expected(document)
    assert json.loads(out)["error_code"] == "OUT-002"


# ---- the real CLI, one subprocess per case -----------------------------------------------------

SUBPROCESS_CASES = [
    *[pytest.param("stdin", VALID[n][0], None, id=f"valid:{n}") for n in (
        "24.99", "25", "49.99", "50", "74.99", "75", "no score", "domain unverified",
        "email unverified", "lifecycle from the score")],
    pytest.param("file", VALID["100"][0], None, id="file:valid:100"),
    pytest.param("file", VALID["no contact"][0], None, id="file:valid:no contact"),
    *[pytest.param("stdin", INVALID[n][0], INVALID[n][1], id=f"invalid:{n}") for n in (
        "not JSON", "missing lead_card", "bad source_platform", "bit_score above 100",
        "extra top-level field")],
    pytest.param("file", INVALID["email_verified not a bool"][0], "email_verified",
                 id="file:invalid:email_verified"),
    pytest.param("missing-file", b"", "cannot read", id="file:missing"),
]


@pytest.mark.parametrize(("mode", "payload", "word"), SUBPROCESS_CASES)
def test_real_cli(tmp_path: Path, mode: str, payload: Any, word: str | None) -> None:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    argv = [sys.executable, "-m", "streams.cli", "gate", "explain"]
    stdin: bytes | None = data
    if mode == "file":
        (tmp_path / "in.json").write_bytes(data)
        argv += ["--input", str(tmp_path / "in.json")]
        stdin = b""
    elif mode == "missing-file":
        argv += ["--input", str(tmp_path / "absent.json")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")}
    proc = subprocess.run(argv, input=stdin, capture_output=True, cwd=tmp_path, env=env,
                          timeout=60, check=False)
    if word is None:
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == expected(payload)
    else:
        assert proc.returncode == 2
        assert proc.stdout == b""
        assert word.encode() in proc.stderr
        assert EMAIL.encode() not in proc.stderr


@pytest.mark.parametrize(("address", "reason"), [
    ("a@b", "email_invalid"),
    ("jane@evil.com", "email_domain_mismatch"),
])
def test_explain_names_the_address_rule_and_out_002(
    monkeypatch: pytest.MonkeyPatch, address: str, reason: str
) -> None:
    document = orjson.dumps(doc(card(contact__email=address), score(80)))
    rc, out, err = run_main(monkeypatch, ["gate", "explain"], document)
    assert (rc, err) == (0, "")
    assert json.loads(out) == {"verdict": "BLOCKED", "tier": "BURNING", "strategy": None,
                               "reasons": [reason], "error_code": "OUT-002"}
