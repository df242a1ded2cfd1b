"""The scheduler's nudges to the sequencer (pure): due persons -> commands, and back.

A tick's due persons of one partition go out as few CheckDuePeople commands to that partition
(one record per partition and tick instead of one per person); the stage decides each person
it names as a CheckDueTouches of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from agents.sequencer.projection import trusted
from streams.contracts.decision import Emit
from streams.contracts.models.sequence import CheckDuePeople, CheckDueTouches, command_key

NUDGE_CHUNK = 200  # persons per nudge: amortizes the per-record cost, decided well in a batch


def due_nudges(due: Mapping[int, Sequence[str]], now: datetime) -> Iterator[Emit]:
    """The nudges for the persons due on each partition, sent to that partition."""
    for partition, keys in due.items():
        for i in range(0, len(keys), NUDGE_CHUNK):
            nudge = CheckDuePeople(partition=partition, issued_at=now,
                                   contact_keys=tuple(keys[i : i + NUDGE_CHUNK]))
            yield Emit("sequence_commands", command_key(nudge), nudge, partition)


def check_of(key: str, now: datetime) -> CheckDueTouches:
    """What one person of a nudge is decided on (its touch taken only if due at `now`).
    Not validated (one per person of every nudge, and validating cost as much as decoding the
    person): the key is the validated nudge's, and an aware `now` is checked once here."""
    if now.tzinfo is None:
        return CheckDueTouches(contact_key=key, issued_at=now)  # refused as it always was
    return trusted(CheckDueTouches, {
        "type": "check_due_touches", "contact_key": key, "issued_at": now, "aggregate_id": None,
        "expected_version": None, "current_touch_index": None, "idempotency_key": None})
