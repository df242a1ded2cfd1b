"""The README's topics table is generated from topics.yaml; this keeps it from going stale."""

from pathlib import Path

from streams.contracts.topics import load_catalog, markdown_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_topics_table_matches_topics_yaml() -> None:
    text = README.read_text()
    start = text.index("<!-- topics-table:start -->") + len("<!-- topics-table:start -->")
    end = text.index("<!-- topics-table:end -->")
    assert text[start:end].strip() == markdown_table(load_catalog()), (
        "README topics table is stale: regenerate it with `outreach-hub topics table`"
    )


def test_readme_names_every_cli_command() -> None:
    text = README.read_text()
    for command in ("up", "worker", "topics create", "produce", "db migrate",
                    "schemas generate", "settings table", "gate explain", "sequencer decide",
                    "events normalize", "demo"):
        assert f"`outreach-hub {command}" in text
