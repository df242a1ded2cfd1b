"""The line that names an unreachable database: where it is, never who logs in or with what."""

from __future__ import annotations

import pytest

from streams.reach import database_target


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://hub:pw@db.internal:6432/outreach",
         'PostgreSQL database "outreach" at db.internal:6432'),
        ("postgres://hub:pw@db.internal/outreach?sslmode=require",
         'PostgreSQL database "outreach" at db.internal:5432'),
        ("postgresql://postgres:@/outreach?host=/tmp/pg-sock",
         'PostgreSQL database "outreach" at /tmp/pg-sock'),
        ("postgresql://hub:pw@db.internal:notaport/outreach",
         "PostgreSQL (the URL in OUTREACH_DATABASE_URL is malformed)"),
    ],
)
def test_the_target_names_host_port_and_database_only(url: str, expected: str) -> None:
    assert database_target(url) == expected
    assert "pw" not in expected and "hub" not in expected.replace('"outreach"', "")
