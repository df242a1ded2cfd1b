"""A touch's email as the sender would render it for one sample person: the same template
(by the campaign's sequence), the same merge values, the same unsubscribe link (its aggregate
id is derived exactly as the sequencer derives it from the person's gate verdict) and a
calendar link signed the same way (its expiry counts from now, not from the touch's due time).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agents.sender.calendar_link import sign
from agents.sender.content import ContentLibrary, ContentRefused, merge_values, render_touch
from agents.sender.core import SenderConfig, unsubscribe_url
from agents.sequencer.definition import SequenceDefinition, Touch
from agents.sequencer.enrollment import contact_key_for
from streams.contracts.models.merge_fields import MergeFields


@dataclass(frozen=True, slots=True)
class Preview:
    touch: Touch
    digest: str | None
    approved_digest: bool  # the draft's content digests name this touch's content
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    unsubscribe_link: str | None = None
    calendar_link: str | None = None
    refused: str | None = None  # why it cannot be rendered (the sender's reason)


def definition_for(definitions: dict[str, SequenceDefinition], campaign: dict[str, Any]
                   ) -> tuple[str, SequenceDefinition] | None:
    """The campaign's sequence: by its sequence id, else its strategy's definition."""
    for name, d in definitions.items():
        if campaign.get("sequence_id") and (d.sequence_id or name.lower()) == campaign[
                "sequence_id"]:
            return d.sequence_id or name.lower(), d
    strategy = campaign.get("strategy")
    if isinstance(strategy, str) and strategy in definitions:
        d = definitions[strategy]
        return d.sequence_id or strategy.lower(), d
    return None


def aggregate_for(sequence_id: str, enrollment_id: str, email: str) -> str:
    run = hashlib.sha256(enrollment_id.encode()).hexdigest()[:10]
    return f"{sequence_id}-{run}:{contact_key_for(email)}"


def render_preview(library: ContentLibrary, cfg: SenderConfig, sequence_id: str, touch: Touch,
                   campaign: dict[str, Any], person: dict[str, Any] | None, now: datetime
                   ) -> Preview:
    digest = library.by_touch.get((sequence_id, touch.index))
    approved = digest is not None and digest in (campaign.get("content_digests") or [])
    if digest is None:
        return Preview(touch, None, False, refused="this touch has no template (a phone task "
                                                   "or a task without content)")
    if person is None or not person.get("email"):
        return Preview(touch, digest, approved, refused="no sample person is on record for "
                                                        "this campaign")
    aggregate = aggregate_for(sequence_id, person["enrollment_id"], person["email"])
    unsubscribe = unsubscribe_url(cfg, aggregate)
    calendar = None
    if cfg.calendar_secret:
        calendar = sign(aggregate, campaign.get("company_sov_id") or "none",
                        now + timedelta(days=cfg.calendar_link_days), cfg.calendar_secret,
                        base_url=f"{cfg.public_base_url.rstrip('/')}/calendar/book")
    fields = MergeFields(first_name=person.get("first_name"), last_name=person.get("last_name"),
                         title=person.get("title"), company_name=person.get("company_name"))
    try:
        rendered = render_touch(library.by_digest[digest], merge_values(
            fields, calendar_link=calendar, unsubscribe_link=unsubscribe))
    except ContentRefused as refused:
        return Preview(touch, digest, approved, unsubscribe_link=unsubscribe,
                       calendar_link=calendar, refused=f"the sender would refuse it: "
                                                       f"{refused.reason}")
    return Preview(touch, digest, approved, rendered.subject, rendered.text, rendered.html,
                   unsubscribe, calendar)


def subjects(library: ContentLibrary, cfg: SenderConfig, sequence_id: str,
             touches: Iterable[Touch], campaign: dict[str, Any], person: dict[str, Any] | None,
             now: datetime) -> dict[int, str]:
    """Each touch's subject line as the sample person would read it, where it renders: the
    sequence file's `{company_name}` placeholder is not what anyone receives."""
    found = {}
    for touch in touches:
        rendered = render_preview(library, cfg, sequence_id, touch, campaign, person, now)
        if rendered.subject is not None:
            found[touch.index] = rendered.subject
    return found
