"""What a touch's template may say about its person, from the lead card's enrichment."""

from __future__ import annotations

from streams.contracts.models.base import Frozen


class MergeFields(Frozen):
    """The person's name, title and company as the card's enrichment gave them (personal data:
    it travels on the person-keyed topics with the address, and is never logged). A field the
    card lacks is None; a template that names it refuses that send instead of guessing."""

    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    company_name: str | None = None

    def is_empty(self) -> bool:
        return not (self.first_name or self.last_name or self.title or self.company_name)
