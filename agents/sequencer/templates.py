"""A touch's content: its template files, the merge fields they may name, and their digest.

A touch's template is a reference such as ``personalized-email-v1/touch-1`` under a templates
directory; its parts are files beside one another:

    <ref>.subject.txt   the subject line (an email) or the task's title (a phone task)
    <ref>.txt           the plain-text body (an email) or the call notes (a phone task)
    <ref>.html          the HTML body (emails only)

The touch's ``content_digest`` is ``sha256:`` + the hex sha256 of, for each part present in the
order subject, text, html: the part's name, a newline, its length in bytes (decimal), a
newline, then the file's bytes unchanged. Names and lengths make the byte sequence
unambiguous (a byte moved from one file to the next changes the digest), so the digest pins
exactly what the sender renders: the approval of a campaign binds these digests, and a
template changed on disk afterwards has another digest and is refused until approved again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from agents.sequencer.exceptions import InvalidSequenceDefinition

# What a template may name; anything else is refused when the definitions load (a typo such
# as `frist_name` would otherwise only show when the first email of that touch is due).
CONTACT_FIELDS = ("first_name", "last_name", "title", "company_name")
LINK_FIELDS = ("calendar_link", "unsubscribe_link")
MERGE_FIELDS: tuple[str, ...] = (*CONTACT_FIELDS, *LINK_FIELDS)
PARTS = (("subject", ".subject.txt"), ("text", ".txt"), ("html", ".html"))
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
# Parsing only (which names a template uses); rendering has its own environments.
_PARSER = SandboxedEnvironment()


@dataclass(frozen=True, slots=True)
class TouchTemplate:
    """One touch's template sources (as read from disk) and the digest over their bytes."""

    ref: str
    subject: str
    text: str
    html: str | None
    digest: str
    fields: frozenset[str]  # the merge fields the parts name


def content_digest(parts: dict[str, bytes]) -> str:
    """``sha256:<hex>`` over the parts present, in PARTS order (see the module docstring)."""
    h = hashlib.sha256()
    for name, _suffix in PARTS:
        data = parts.get(name)
        if data is not None:
            h.update(f"{name}\n{len(data)}\n".encode())
            h.update(data)
    return "sha256:" + h.hexdigest()


def _fields_of(where: str, source: str) -> frozenset[str]:
    try:
        names = frozenset(meta.find_undeclared_variables(_PARSER.parse(source)))
    except TemplateSyntaxError as exc:
        raise InvalidSequenceDefinition(f"{where}: not a valid template: line {exc.lineno}: "
                                        f"{exc.message}") from exc
    unknown = sorted(names - set(MERGE_FIELDS))
    if unknown:
        raise InvalidSequenceDefinition(
            f"{where}: unknown merge field {', '.join(unknown)} "
            f"(expected some of {', '.join(MERGE_FIELDS)})")
    return names


def read_template(root: Path, ref: str, *, html: bool) -> TouchTemplate:
    """Read and check one touch's files; ``html``: the touch is an email, which needs one."""
    if not _REF.match(ref) or ".." in ref.split("/"):
        raise InvalidSequenceDefinition(f"template {ref!r}: not a relative template reference")
    raw: dict[str, bytes] = {}
    for name, suffix in PARTS:
        path = root / f"{ref}{suffix}"
        try:
            raw[name] = path.read_bytes()
        except FileNotFoundError:
            if name != "html" or html:
                raise InvalidSequenceDefinition(
                    f"template {ref}: {path.name} is missing") from None
        except OSError as exc:
            raise InvalidSequenceDefinition(f"template {ref}: cannot read {path.name}: "
                                            f"{exc.strerror}") from exc
    if "html" in raw and not html:
        raise InvalidSequenceDefinition(f"template {ref}: a phone task has no HTML body")
    text: dict[str, str] = {}
    fields: frozenset[str] = frozenset()
    for name, data in raw.items():
        try:
            text[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidSequenceDefinition(f"template {ref} {name}: not UTF-8") from None
        fields |= _fields_of(f"template {ref} {name}", text[name])
    subject = text["subject"].removesuffix("\n")
    if not subject.strip() or "\n" in subject or "\r" in subject:
        raise InvalidSequenceDefinition(f"template {ref} subject: must be one non-empty line")
    return TouchTemplate(ref=ref, subject=text["subject"], text=text["text"],
                         html=text.get("html"), digest=content_digest(raw), fields=fields)
