"""One person's events out of one record, folded: each decided on the state the one before
left, one outcome whose `before` is the stored state (the loop writes only a changed state)."""

from __future__ import annotations

from typing import Any

from streams.contracts.decision import Count, Decision, Emit
from streams.contracts.models import PendingSignalsCheckDue
from streams.kernel.store import TableStore


def store(table: dict[str, Any]) -> TableStore[tuple[str, ...]]:
    return TableStore(table, lambda _key, raw: tuple(raw), list, lambda _key: ())


def seen(state: tuple[str, ...], item: str) -> Decision[tuple[str, ...]]:
    if item in state:  # a duplicate in the same body changes nothing
        return Decision(state)
    check = PendingSignalsCheckDue(contact_key=item, issued_at="2026-11-30T12:00:00Z")
    return Decision((*state, item), (Emit("engagement_checks", item, check),),
                    (Count("engagement_events_total", (("type", item),)),))


def test_each_item_sees_the_one_before_and_the_outcome_carries_all() -> None:
    folded = store({"ann": ["a"]}).folded("ann", ["b", "b", "c"], seen)
    assert folded.before == ("a",)
    assert folded.decision.state == ("a", "b", "c")
    assert [e.key for e in folded.decision.emits] == ["b", "c"]
    assert len(folded.decision.effects) == 2 and folded.key == "ann"


def test_nothing_new_leaves_the_stored_state_itself() -> None:
    folded = store({"ann": ["a"]}).folded("ann", ["a"], seen)
    assert folded.decision.state is folded.before and folded.decision.emits == ()


def test_a_key_the_table_lacks_starts_from_the_default() -> None:
    folded = store({}).folded("bob", ["x"], seen)
    assert folded.before == () and folded.decision.state == ("x",)


def test_several_keys_of_one_record_are_folded_each_in_order() -> None:
    folded = store({"ann": ["a"]}).folded_by_key(
        ["ann:b", "bob:x", "ann:c", "bob:x"], lambda item: item.split(":")[0],
        lambda state, item: seen(state, item.split(":")[1]))
    assert [(d.key, d.before, d.decision.state) for d in folded] == [
        ("ann", ("a",), ("a", "b", "c")), ("bob", (), ("x",))]
