"""The README's configuration table is generated from the settings model; this keeps it from
going stale (a field added, renamed, or re-described without regenerating it)."""

from pathlib import Path

import pytest
from pydantic import Field

from streams.kernel.settings import Settings
from streams.kernel.settings_sources import setting_names
from streams.kernel.settings_table import END, START, markdown_table, replace_in

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_settings_table_matches_the_settings_model() -> None:
    text = README.read_text()
    start = text.index(START) + len(START)
    end = text.index(END)
    assert text[start:end].strip() == markdown_table(Settings), (
        "README configuration table is stale: regenerate it with `outreach-hub settings table`"
    )


def test_every_setting_is_in_the_table_and_every_secret_is_marked() -> None:
    table = markdown_table(Settings)
    for name, (field, _) in setting_names(Settings).items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        assert ("**secret**" in row) == ("SecretStr" in str(field.annotation)), name
    assert "embedded-default" not in table  # a secret's default is never printed


def test_a_setting_without_a_description_cannot_be_added() -> None:
    class Undocumented(Settings):
        campaign_ttl_days: int = Field(default=30)

    with pytest.raises(ValueError, match="OUTREACH_CAMPAIGN_TTL_DAYS has no description"):
        markdown_table(Undocumented)


def test_the_table_is_replaced_between_its_markers_only() -> None:
    text = f"before\n{START}\nold rows\n{END}\nafter\n"
    assert replace_in(text, "| new |") == f"before\n{START}\n| new |\n{END}\nafter\n"
