"""Touch templates: files per touch, checked when the definitions load; the digest over them."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
import yaml

from agents.sequencer.definition import (
    DEFAULT_DEFINITIONS_PATH,
    load_definitions,
    load_templates,
    templates_root,
)
from agents.sequencer.exceptions import InvalidSequenceDefinition
from agents.sequencer.templates import MERGE_FIELDS, content_digest, read_template

SHIPPED = load_definitions()


def _copy_shipped(tmp_path: Path) -> Path:
    path = tmp_path / "sequences.yaml"
    shutil.copy(DEFAULT_DEFINITIONS_PATH, path)
    shutil.copytree(templates_root(), tmp_path / "templates")
    return path


def test_the_digest_is_sha256_over_named_length_prefixed_parts() -> None:
    parts = {"subject": b"Hi {{ first_name }}\n", "text": b"Body\n", "html": b"<p>Body</p>\n"}
    expected = hashlib.sha256(
        b"subject\n20\nHi {{ first_name }}\n" b"text\n5\nBody\n" b"html\n12\n<p>Body</p>\n"
    ).hexdigest()
    assert content_digest(parts) == f"sha256:{expected}"
    # Order of the mapping does not matter; the part a byte belongs to does.
    assert content_digest(dict(reversed(parts.items()))) == f"sha256:{expected}"
    moved = {"subject": b"Hi {{ first_name }}\nB", "text": b"ody\n", "html": parts["html"]}
    assert content_digest(moved) != content_digest(parts)
    assert content_digest({k: v for k, v in parts.items() if k != "html"}) != content_digest(
        parts)


def test_shipped_digests_are_those_of_the_files_and_stable() -> None:
    again = load_definitions()
    templates = load_templates()
    assert len(templates) == 11
    for strategy, definition in SHIPPED.items():
        for touch in definition.touches:
            assert touch.template == f"{definition.sequence_id}/touch-{touch.index}"
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", touch.content_digest)
            assert again[strategy].touch(touch.index).content_digest == touch.content_digest
            template = templates[(definition.sequence_id or "", touch.index)]
            assert template.digest == touch.content_digest
    digests = [t.content_digest for d in SHIPPED.values() for t in d.touches]
    assert len(set(digests)) == len(digests), "every touch has its own content"


@pytest.mark.parametrize("suffix", [".subject.txt", ".txt", ".html"])
def test_a_template_change_changes_the_digest(tmp_path: Path, suffix: str) -> None:
    path = _copy_shipped(tmp_path)
    file = tmp_path / "templates" / "personalized-email-v1" / f"touch-2{suffix}"
    file.write_bytes(file.read_bytes().replace(b"team", b"group", 1))
    changed = load_definitions(path)["PERSONALIZED_EMAIL"]
    shipped = SHIPPED["PERSONALIZED_EMAIL"]
    assert changed.touch(2).content_digest != shipped.touch(2).content_digest
    assert [changed.touch(i).content_digest for i in (1, 3, 4, 5)] == [
        shipped.touch(i).content_digest for i in (1, 3, 4, 5)]


def test_the_yaml_subject_matches_the_template_subject() -> None:
    root = templates_root()
    for definition in SHIPPED.values():
        for touch in definition.touches:
            assert touch.template is not None
            subject = (root / f"{touch.template}.subject.txt").read_text().rstrip("\n")
            assert re.sub(r"\{\{ (\w+) \}\}", r"{\1}", subject) == touch.subject


def test_every_shipped_email_greets_by_name_with_both_links() -> None:
    templates = load_templates()
    for definition in SHIPPED.values():
        for touch in definition.touches:
            template = templates[(definition.sequence_id or "", touch.index)]
            assert template.fields <= set(MERGE_FIELDS)
            if touch.channel == "email":
                assert template.html is not None
                assert {"first_name", "calendar_link",
                        "unsubscribe_link"} <= template.fields
                assert "{{ unsubscribe_link }}" in template.text
                assert "{{ unsubscribe_link }}" in template.html
            else:
                assert template.html is None


def _one_touch_file(tmp_path: Path, touch: dict[str, object]) -> Path:
    raw = yaml.safe_load(DEFAULT_DEFINITIONS_PATH.read_text())
    raw["PERSONALIZED_EMAIL"]["touches"][0] = raw["PERSONALIZED_EMAIL"]["touches"][0] | touch
    path = _copy_shipped(tmp_path)
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(("touch", "message"), [
    ({"content_digest": "sha256:" + "0" * 64}, r"touches\[0\]\.content_digest: computed"),
    ({"template": None}, r"touches\[0\]\.template: required"),
    ({"template": "personalized-email-v1/touch-9"}, "touch-9.subject.txt is missing"),
    ({"template": "../templates/personalized-email-v1/touch-1"}, "not a relative template"),
    ({"template": "/etc/passwd"}, "not a relative template"),
])
def test_the_loader_refuses_a_touch_without_its_template(
        tmp_path: Path, touch: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidSequenceDefinition, match=message):
        load_definitions(_one_touch_file(tmp_path, touch))


@pytest.mark.parametrize(("suffix", "content", "message"), [
    (".txt", "Hi {{ frist_name }},\n", "unknown merge field frist_name"),
    (".html", "<p>{{ first_name </p>", "not a valid template"),
    (".subject.txt", "Two\nlines\n", "must be one non-empty line"),
    (".subject.txt", "\n", "must be one non-empty line"),
    (".txt", b"\xff\xfe", "not UTF-8"),
])
def test_the_loader_refuses_a_broken_template(
        tmp_path: Path, suffix: str, content: str | bytes, message: str) -> None:
    path = _copy_shipped(tmp_path)
    file = tmp_path / "templates" / "personalized-email-v1" / f"touch-1{suffix}"
    if isinstance(content, bytes):
        file.write_bytes(content)
    else:
        file.write_text(content)
    with pytest.raises(InvalidSequenceDefinition, match=message):
        load_definitions(path)


def test_an_email_needs_html_and_a_phone_task_has_none(tmp_path: Path) -> None:
    root = _copy_shipped(tmp_path).parent / "templates"
    (root / "personalized-email-v1" / "touch-1.html").unlink()
    with pytest.raises(InvalidSequenceDefinition, match=r"touch-1\.html is missing"):
        read_template(root, "personalized-email-v1/touch-1", html=True)
    (root / "phone-and-email-v1" / "touch-2.html").write_text("<p>call</p>")
    with pytest.raises(InvalidSequenceDefinition, match="a phone task has no HTML body"):
        read_template(root, "phone-and-email-v1/touch-2", html=False)
