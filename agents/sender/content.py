"""A touch's email rendered from its template, pure: Jinja2's sandbox, strict about names.

The sender holds the templates of every touch (read when it starts, keyed by digest), so what it
renders is exactly the content whose digest the touch carries. A request is refused, with a
reason that names what is wrong and never a value, when its digest is none of the templates'
(`template_unknown`; `content_digest_mismatch` when the touch exists with other content: the
file changed since the sequencer loaded it), or when a merge field its template names is
missing or blank (`merge_field_missing:first_name`): never "Hi ,".

Merge values are data, never template source: a name such as ``{{ 7*7 }}`` is printed as
written. Text and subject are rendered without escaping, HTML with autoescape; whitespace in a
value (line breaks included) collapses to one space, so no value can add a header line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from agents.sender.exceptions import SenderError
from agents.sequencer.templates import MERGE_FIELDS, TouchTemplate
from streams.contracts.models.merge_fields import MergeFields


def _environment(*, autoescape: bool) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape,
                               keep_trailing_newline=True)
    env.globals.clear()  # a template names merge fields, nothing else (checked on load too)
    return env


_PLAIN = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


class ContentRefused(SenderError):
    """This touch cannot be rendered as approved; ``reason`` is what the send records."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CompiledTouch:
    ref: str
    digest: str
    fields: frozenset[str]
    subject: Template
    text: Template
    html: Template | None

    @classmethod
    def of(cls, template: TouchTemplate) -> CompiledTouch:
        return cls(ref=template.ref, digest=template.digest, fields=template.fields,
                   subject=_PLAIN.from_string(template.subject.removesuffix("\n")),
                   text=_PLAIN.from_string(template.text),
                   html=None if template.html is None else _HTML.from_string(template.html))


@dataclass(frozen=True, slots=True)
class RenderedTouch:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True, slots=True)
class ContentLibrary:
    """Every touch's compiled template by digest, and which digest each (sequence, touch) has."""

    by_digest: Mapping[str, CompiledTouch] = field(default_factory=dict)
    by_touch: Mapping[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def of(cls, templates: Mapping[tuple[str, int], TouchTemplate]) -> ContentLibrary:
        return cls(by_digest={t.digest: CompiledTouch.of(t) for t in templates.values()},
                   by_touch={k: t.digest for k, t in templates.items()})

    @property
    def digests(self) -> frozenset[str]:
        return frozenset(self.by_digest)

    def find(self, sequence_id: str, touch_index: int, digest: str | None) -> CompiledTouch:
        """The template of this digest. ``sequence_id`` is the enrollment's
        (``<definition's id>-<run>``), which names the touch when the digest is unknown."""
        touch = self.by_digest.get(digest or "")
        if touch is not None:
            return touch
        if (sequence_id.rsplit("-", 1)[0], touch_index) in self.by_touch:
            raise ContentRefused("content_digest_mismatch")
        raise ContentRefused("template_unknown")


def _clean(value: str | None) -> str | None:
    return None if value is None else (" ".join(value.split()) or None)


def merge_values(fields: MergeFields | None, *, calendar_link: str | None,
                 unsubscribe_link: str) -> dict[str, str | None]:
    person = fields or MergeFields()
    return {"first_name": _clean(person.first_name), "last_name": _clean(person.last_name),
            "title": _clean(person.title), "company_name": _clean(person.company_name),
            "calendar_link": calendar_link, "unsubscribe_link": unsubscribe_link}


def render_touch(touch: CompiledTouch, values: Mapping[str, str | None]) -> RenderedTouch:
    """Subject, text and HTML of one touch; refused if a field it names has no value."""
    for name in MERGE_FIELDS:  # a fixed order: the same request always names the same field
        if name in touch.fields and not values.get(name):
            raise ContentRefused(f"merge_field_missing:{name}")
    context = {k: v for k, v in values.items() if k in touch.fields}
    try:
        subject = touch.subject.render(context).strip()
        text = touch.text.render(context)
        html = touch.html.render(context) if touch.html is not None else None
    except TemplateError as exc:  # e.g. the sandbox refusing an attribute: the type, no text
        raise ContentRefused(f"template_failed:{type(exc).__name__}") from None
    if not subject or not text.strip():
        raise ContentRefused("template_rendered_empty")
    return RenderedTouch(subject=subject, text=text, html=html)
