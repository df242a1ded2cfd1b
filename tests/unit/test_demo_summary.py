"""The demo's summary tells each campaign's health and audit verdict (or that it has none)."""

from __future__ import annotations

import pytest

from streams.demo import SUMMARY_QUERIES
from streams.operator.demo_summary import print_summary


def test_each_campaign_gets_its_health_and_audit_verdict(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    summary: dict[str, list[tuple[object, ...]]] = {k: [] for k in SUMMARY_QUERIES}
    summary["verdicts_by_campaign"] = [
        ("cmp-aaaa", "BURNING", "completed", 12, "REVIEW",
         ["sending domain hub.example: engagement rate 12.00% < 30.00%"], "PASS", "[]"),
        ("cmp-bbbb", "HOT", "failed", 3, None, [], "FAIL",
         '[{"rule": "hourly_rate", "count": 2, "sample_ids": ["k1", "k2"]}]'),
        ("cmp-cccc", "HOT", "active", 0, None, [], None, "[]"),
    ]
    print_summary(summary, 1.0, 0)
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("Campaign verdicts (campaign_health, audit_log): health, then audit:")
    a, b, c = (" ".join(line.split()) for line in lines[start + 1:start + 4])
    assert a == ("cmp-aaaa BURNING completed health REVIEW (sending domain hub.example: "
                 "engagement rate 12.00% < 30.00%) audit PASS")
    assert b == ("cmp-bbbb HOT failed health -: 3 sends < 200 minimum, no verdict audit FAIL "
                 "(hourly_rate x2)")
    assert c == ("cmp-cccc HOT active health -: 0 sends < 200 minimum, no verdict audit -: not "
                 "audited yet")
