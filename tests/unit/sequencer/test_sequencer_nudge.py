"""The scheduler's nudges: due persons go to their own partition, a bounded number per record."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.sequencer.nudge import NUDGE_CHUNK, check_of, due_nudges
from streams.contracts.models import CheckDuePeople, CheckDueTouches, SequenceCommand

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_due_persons_are_nudged_on_their_partition_in_bounded_chunks() -> None:
    keys = [f"{n:032x}" for n in range(NUDGE_CHUNK + 1)]
    emits = list(due_nudges({3: keys, 1: ["k"]}, T0))
    assert [(e.topic, e.partition, len(e.event.contact_keys)) for e in emits  # type: ignore[attr-defined]
            ] == [("sequence_commands", 3, NUDGE_CHUNK), ("sequence_commands", 3, 1),
                  ("sequence_commands", 1, 1)]
    # Keyed as topics.yaml declares (a contact key), and read back as the command it is.
    assert [e.key for e in emits] == [keys[0], keys[NUDGE_CHUNK], "k"]
    first = SequenceCommand.model_validate(emits[0].event.model_dump(mode="json")).root
    assert isinstance(first, CheckDuePeople) and list(first.contact_keys) == keys[:NUDGE_CHUNK]


def test_each_person_of_a_nudge_is_checked_at_the_time_it_is_decided() -> None:
    assert check_of("k", T0) == CheckDueTouches(contact_key="k", issued_at=T0)
