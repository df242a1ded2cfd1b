"""The README's rule map names real code: every module it lists imports, and every function or
class it names exists there. A file moved or a function renamed fails here, not in a reader's
hands."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- rule-map:start -->", "<!-- rule-map:end -->"
TICKED = re.compile(r"`([^`]+)`")


def rows() -> list[tuple[str, str, list[str]]]:
    """(rule, module path, names) per row of the table between the markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in text and END in text, "README.md lost the rule map's markers"
    lines = [ln.strip() for ln in text.split(START, 1)[1].split(END, 1)[0].strip().splitlines()]
    assert lines[0].startswith("| rule") and set(lines[1]) <= set("|- "), "header changed"
    found = []
    for line in lines[2:]:
        # `|` inside a rule's backticks would split it: the rule map has three columns.
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == 3, f"not a three-column row: {line}"
        rule, module_cell, names_cell = cells
        modules, names = TICKED.findall(module_cell), TICKED.findall(names_cell)
        assert rule and len(modules) == 1 and names, f"a row needs a rule, one `module` and " \
                                                     f"at least one `name`: {line}"
        found.append((rule, modules[0], names))
    return found


ROWS = rows()


def dotted(path: str) -> str:
    assert path.endswith(".py") and not path.startswith("/"), f"not a module path: {path}"
    assert (ROOT / path).is_file(), f"{path} does not exist"
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def test_the_map_covers_the_spec() -> None:
    rules = " ".join(rule for rule, _, _ in ROWS)
    for topic in ("versioning", "audit", "dedupe", "BIT gate bands", "golden rule",
                  "lifecycle", "first score", "enroll", "next touch", "escalation",
                  "expected_version", "cooling-off", "one active sequence", "suppression",
                  "send windows", "daily caps", "campaign status", "at most once", "retries",
                  "OUT-003", "unsubscribe", "calendar link", "webhook normalizers",
                  "ENGAGEMENT_RATE", "meeting booked", "CL signals", "OUT-004",
                  "OUT-001..005", "process ids", "event ids"):
        assert topic in rules, f"no row of the rule map is about {topic!r}"


@pytest.mark.parametrize(("rule", "path", "names"), ROWS, ids=[r[0][:40] for r in ROWS])
def test_each_named_function_exists(rule: str, path: str, names: list[str]) -> None:
    module = importlib.import_module(dotted(path))
    for name in names:
        target: object = module
        for part in name.split("."):  # `Class.method`
            assert hasattr(target, part), f"{path} has no {name} (rule: {rule})"
            target = getattr(target, part)
