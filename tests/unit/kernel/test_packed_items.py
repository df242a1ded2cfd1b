"""The items of a packed record, each decided alone (streams/kernel/packed_items.py): an item
the stage fails on is one dead letter of its own, replayable as the item alone under its key,
and the record's other items are decided, in order."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from streams.contracts import codec
from streams.contracts.models import LeadGated, OutreachErrorRaised
from streams.kernel.loop import routed
from streams.kernel.packed_items import each_item
from streams.kernel.store import Decided

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HUB: Any = SimpleNamespace(clock=SimpleNamespace(now=lambda: NOW))
EVENT = SimpleNamespace(message=SimpleNamespace(topic="outreach.gate.verdict", partition=1,
                                                offset=42))


def verdict(n: int) -> LeadGated:
    return LeadGated(event_id=f"v-{n}", occurred_at=NOW, correlation_id="corr-1",
                     process_id="outreach-execution-campaign-20261120-0000abcd",
                     lead_id=f"lead-{n}", batch_id="b-1", company_sov_id=f"cmp_{n}",
                     bit_score=60, score_evaluated_at=NOW, verdict="ALLOW", tier="HOT",
                     strategy="PERSONALIZED_EMAIL", reasons=(), error_code=None)


def test_a_failing_item_is_its_own_replayable_letter_and_the_others_are_decided() -> None:
    def decide(v: LeadGated) -> list[Decided[Any]]:
        if v.lead_id in ("lead-2", "lead-4"):
            raise RuntimeError("boom")
        return [routed([])]

    items = [verdict(n) for n in range(1, 6)]
    out = each_item(HUB, "sequencer", EVENT, items, lambda v: v.company_sov_id or "", decide)
    letters = [e.event for d in out for e in d.decision.emits
               if isinstance(e.event, OutreachErrorRaised)]
    assert len(out) == 5 and len(letters) == 2
    assert [type(d.decision.emits[0].event) if d.decision.emits else None for d in out] == [
        None, OutreachErrorRaised, None, OutreachErrorRaised, None]  # in the items' order
    assert len({letter.event_id for letter in letters}) == 2
    for letter, n in zip(letters, (2, 4), strict=True):
        assert letter.replayable and letter.source_key == f"cmp_{n}"
        assert letter.record == codec.loads(codec.dumps(verdict(n)))  # the item alone
        assert "type" not in letter.record  # as a single verdict was written before packing
        assert (letter.source_topic, letter.source_partition, letter.source_offset) == (
            "outreach.gate.verdict", 1, 42)
