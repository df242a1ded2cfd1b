"""Enrollments packed many to a record: what a batch of verdict records enrolls, per partition
(streams/kernel/loop.py `Stage.packs`).

A record of 100 verdicts gave up to 100 enrollments, one record of `outreach.sequence.commands`
each: a third of the records the sequencer took in the end-to-end bench, each a Faust hop of
its own. Packed by the partition of their person's key (streams/contracts/packing.py says why
and how), they land where each would have landed alone, and the sequencer decides them in
order, each as a record of its own was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.models.sequence import EnrollContact, EnrollContacts
from streams.contracts.packing import packed_emits

COMMANDS_TOPIC = "sequence_commands"


def enrollment_weight(enrollment: EnrollContact) -> int:
    return len(codec.dumps(enrollment))


def packed_enrollments(emits: Iterable[Emit], partition_of: Callable[[str], int],
                       per_record: int, max_bytes: int) -> tuple[list[Emit], list[Emit]]:
    """The enrollments among `emits` packed, and the other emits as they were."""
    return packed_emits(emits, COMMANDS_TOPIC, EnrollContact, partition_of, per_record,
                        max_bytes, enrollment_weight, pack)


def pack(members: Sequence[tuple[str, EnrollContact]]) -> EnrollContacts:
    """One record of enrollments whose persons share a partition."""
    return EnrollContacts(enrollments=tuple(enrollment for _, enrollment in members))
