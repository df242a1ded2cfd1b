"""Enrollments packed many to a record: what a batch of verdict records enrolls, per partition
(streams/kernel/loop.py `Stage.packs`).

A record of 100 verdicts gave up to 100 enrollments, one record of `outreach.sequence.commands`
each: a third of the records the sequencer took in the end-to-end bench, each a Faust hop of
its own. Packed by the partition of their person's key (streams/contracts/packing.py says why
and how), they land where each would have landed alone, and the sequencer decides them in
order, each as a record of its own was.
"""

from __future__ import annotations

from collections.abc import Sequence

from streams.contracts.models.sequence import EnrollContact, EnrollContacts
from streams.contracts.packing import encoded_size, packer

COMMANDS_TOPIC = "sequence_commands"


def pack(members: Sequence[tuple[str, EnrollContact]]) -> EnrollContacts:
    """One record of enrollments whose persons share a partition."""
    return EnrollContacts(enrollments=tuple(enrollment for _, enrollment in members))


enrollment_weight = encoded_size
packed_enrollments = packer(COMMANDS_TOPIC, EnrollContact, enrollment_weight, pack)
