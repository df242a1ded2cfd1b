"""Stable identifiers. An id is derived from the input that caused it, never drawn at random,
so a retried or replayed step emits the very same event_id and every sink can dedupe on it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Protocol

from streams.models.base import ProcessType

_NAMESPACE = uuid.UUID("6f1c2e8a-4b7d-5e3f-9a10-0c0d7e5b1a42")


class IdFactory(Protocol):
    def event_id(self, *parts: object) -> str: ...

    def process_id(self, process_type: ProcessType, at: datetime, *parts: object) -> str: ...


class StableIds:
    """The production id factory: uuid5 / sha256 of the causing input's coordinates."""

    def event_id(self, *parts: object) -> str:
        return str(uuid.uuid5(_NAMESPACE, "|".join(str(p) for p in parts)))

    def process_id(self, process_type: ProcessType, at: datetime, *parts: object) -> str:
        digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:8]
        day = at.astimezone(UTC) if at.tzinfo else at  # one moment, one date, whatever its zone
        return f"outreach-execution-{process_type}-{day:%Y%m%d}-{digest}"


STABLE_IDS = StableIds()
