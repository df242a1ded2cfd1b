"""What the gate keeps of a lead, and where: the leads waiting for a score, and the recent
gated leads each company remembers so that a newer score can re-gate them.

A remembered lead is kept in a slot of its own (the shell's `gate-remembered-leads` table, key
`{company}#{slot}`); the company's state holds only each lead's fingerprint and slot, oldest
first. A lead gated writes its one slot and the small company state. Kept whole in the
company's state (as text since an earlier change), 200 remembered leads made every lead's write
~134 KB: ~0.5 ms of the gate's time and as many bytes through the changelog, the broker and the
disk store, growing with every lead of the company (the soak of bench/e2e.py).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable

from streams.contracts.models.base import AwareDatetime, Frozen
from streams.contracts.models.gate import GateVerdict
from streams.contracts.models.lead_batch import Enrichment


class PendingLead(Frozen):
    """What the gate keeps of a forwarded lead card: enough to gate it again."""

    lead_id: str
    batch_id: str
    correlation_id: str
    enrichment: Enrichment | None
    received_at: AwareDatetime
    last_verdict: GateVerdict | None = None


# A lead remembered the way states stored before slots hold it: (lead_id, batch_id, the
# PendingLead as JSON text). Read only: the next change moves such leads into slots.
RememberedLead = tuple[str, str, str]


def remembered(lead: PendingLead) -> RememberedLead:
    return (lead.lead_id, lead.batch_id, lead.model_dump_json())


def recalled(lead: RememberedLead) -> PendingLead:
    return PendingLead.model_validate_json(lead[2])


def fingerprint(lead_id: str, batch_id: str) -> str:
    """A remembered lead's name in its company's state: 16 hex digits of (lead id, batch id).
    The same lead in another batch is another handoff, gated again."""
    return hashlib.blake2b(f"{lead_id}\x1f{batch_id}".encode(), digest_size=8).hexdigest()


def fingerprint_of(lead: PendingLead) -> str:
    return fingerprint(lead.lead_id, lead.batch_id)


# The remembered leads' slots a decision writes: slot -> the lead as it is now.
SlotWrites = dict[int, PendingLead]

# Reads a remembered-lead slot of the company being decided (None: empty).
Recall = Callable[[int], PendingLead | None]


def remember(
    entries: tuple[tuple[str, int], ...], gated: tuple[PendingLead, ...], keep: int
) -> tuple[tuple[tuple[str, int], ...], SlotWrites]:
    """Remember `gated` as the newest of a company's `entries` (fingerprint, slot; oldest
    first), each in a slot: a lead remembered already keeps its slot; a new one takes the
    oldest's when `keep` are remembered (else the first free slot), so a company never holds
    more slots than it may remember. Returns the entries and the slots to write."""
    index = dict(entries)  # fingerprint -> slot, oldest first
    slots: SlotWrites = {}
    for lead in gated if keep else ():
        print_ = fingerprint_of(lead)
        slot = index.pop(print_, None)
        while slot is None and len(index) >= keep:
            slot = index.pop(next(iter(index)))
        if slot is None:
            used = set(index.values())
            slot = next(s for s in itertools.count() if s not in used)
        index[print_] = slot
        slots[slot] = lead
    # The policy may have lowered its bound since: the newest are kept.
    return (tuple(index.items())[-keep:] if keep else ()), slots
