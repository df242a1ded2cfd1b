"""Gate verdicts packed many to a record: what a batch of the gate's records sends to one
partition (streams/kernel/loop.py `Stage.packs`).

A record of 100 lead cards gives up to 100 verdicts, and a company's new score re-gates up to
200 remembered leads: one record of `outreach.gate.verdict` each was a Faust hop of its own at
each of the topic's three consumers (the campaigns, the sequencer's enrollments, the sink).
streams/contracts/packing.py says how items are packed and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from streams.contracts import codec
from streams.contracts.decision import Emit
from streams.contracts.ids import IdFactory
from streams.contracts.models.gate import LeadGated, LeadsGated
from streams.contracts.packing import envelope, packed_emits

VERDICTS_TOPIC = "gate_verdicts"


def verdict_weight(verdict: LeadGated) -> int:
    return len(codec.dumps(verdict))


def packed_verdicts(emits: Iterable[Emit], partition_of: Callable[[str], int], per_record: int,
                    max_bytes: int, ids: IdFactory) -> tuple[list[Emit], list[Emit]]:
    """The verdicts among `emits` packed, and the other emits as they were."""
    return packed_emits(emits, VERDICTS_TOPIC, LeadGated, partition_of, per_record, max_bytes,
                        verdict_weight, lambda members: pack(members, ids))


def pack(members: Sequence[tuple[str, LeadGated]], ids: IdFactory) -> LeadsGated:
    """One record of verdicts that share a partition."""
    verdicts = tuple(verdict for _, verdict in members)
    return LeadsGated(**envelope("leads-gated", verdicts, ids), verdicts=verdicts)
