"""Stable identifiers. An id is derived from the input that caused it, never drawn at random,
so a retried or replayed step emits the very same event_id and every sink can dedupe on it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Protocol

from streams.contracts.models.base import ProcessType

_NAMESPACE = uuid.UUID("6f1c2e8a-4b7d-5e3f-9a10-0c0d7e5b1a42")
_NAMESPACE_BYTES = _NAMESPACE.bytes


def uuid5(name: str) -> str:
    """str(uuid.uuid5(_NAMESPACE, name)), without building a UUID object: ids are minted per
    emitted event, and the object costs more than the hash (RFC 4122 §4.3: SHA-1, version 5,
    variant 10)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class IdFactory(Protocol):
    def event_id(self, *parts: object) -> str: ...

    def process_id(self, process_type: ProcessType, at: datetime, *parts: object) -> str: ...


class StableIds:
    """The production id factory: uuid5 / sha256 of the causing input's coordinates."""

    def event_id(self, *parts: object) -> str:
        return uuid5("|".join(str(p) for p in parts))

    def process_id(self, process_type: ProcessType, at: datetime, *parts: object) -> str:
        digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:8]
        day = at.astimezone(UTC) if at.tzinfo else at  # one moment, one date, whatever its zone
        return f"outreach-execution-{process_type}-{day:%Y%m%d}-{digest}"


STABLE_IDS = StableIds()
