"""kernel.campaign_status.fold: the campaign-status view keeps the highest version per campaign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contracts.models.campaign import CampaignState, CampaignStateChanged
from streams.kernel.campaign_status import fold

STATES: tuple[str, ...] = get_args(CampaignState)
T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def changed(campaign_id: str, version: int, to_state: str, from_state: str | None = None
            ) -> CampaignStateChanged:
    return CampaignStateChanged(
        event_id=f"{campaign_id}-v{version}-{to_state}",
        occurred_at=T0 + timedelta(minutes=version),
        correlation_id="corr-1", process_id="outreach-execution-campaign-20260601-0123abcd",
        campaign_id=campaign_id, version=version, from_state=from_state, to_state=to_state,
        actor="operator")


def test_first_event_is_kept() -> None:
    view: dict[str, tuple[int, str]] = {}
    fold(view, changed("c1", 1, "draft"))
    assert view == {"c1": (1, "draft")}


def test_newer_version_replaces() -> None:
    view: dict[str, tuple[int, str]] = {}
    fold(view, changed("c1", 1, "draft"))
    fold(view, changed("c1", 3, "active"))
    assert view["c1"] == (3, "active")


def test_older_version_is_ignored() -> None:
    view: dict[str, tuple[int, str]] = {}
    fold(view, changed("c1", 4, "paused"))
    fold(view, changed("c1", 2, "active"))
    assert view["c1"] == (4, "paused")


def test_equal_version_is_ignored_first_writer_wins() -> None:
    view: dict[str, tuple[int, str]] = {}
    fold(view, changed("c1", 2, "active"))
    fold(view, changed("c1", 2, "cancelled"))
    assert view["c1"] == (2, "active")


def test_redelivery_changes_nothing() -> None:
    view: dict[str, tuple[int, str]] = {}
    event = changed("c1", 5, "completed")
    fold(view, event)
    snapshot = dict(view)
    fold(view, event)
    assert view == snapshot


def test_campaigns_are_independent() -> None:
    view: dict[str, tuple[int, str]] = {}
    fold(view, changed("c1", 9, "paused"))
    fold(view, changed("c2", 1, "draft"))
    fold(view, changed("c1", 3, "active"))
    assert view == {"c1": (9, "paused"), "c2": (1, "draft")}


# One history per campaign: strictly increasing versions (a gap stands for a lost event),
# each with a state; delivered in any order, with duplicates.
histories = st.dictionaries(
    st.sampled_from([f"cmp-{i}" for i in range(6)]),
    st.lists(st.tuples(st.integers(1, 60), st.sampled_from(STATES)), min_size=1, max_size=12,
             unique_by=lambda t: t[0]),
    min_size=1, max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(histories, st.randoms(use_true_random=False), st.integers(0, 5))
def test_highest_version_wins_regardless_of_arrival_order(
    hist: dict[str, list[tuple[int, str]]], rnd: object, dup: int
) -> None:
    events = [changed(cid, v, s) for cid, items in hist.items() for v, s in items]
    arrival = events + events[:dup]
    rnd.shuffle(arrival)  # type: ignore[attr-defined]
    view: dict[str, tuple[int, str]] = {}
    for e in arrival:
        fold(view, e)
    expected = {cid: max(items) for cid, items in hist.items()}
    assert view == {cid: (v, s) for cid, (v, s) in expected.items()}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.sampled_from(STATES)), min_size=1,
                max_size=15, unique_by=lambda t: t[0]).flatmap(
                    lambda xs: st.tuples(st.just(xs), st.permutations(xs))))
def test_any_two_permutations_agree(pair: tuple[list[tuple[int, str]], list[tuple[int, str]]]
                                    ) -> None:
    original, permuted = pair
    a: dict[str, tuple[int, str]] = {}
    b: dict[str, tuple[int, str]] = {}
    for v, s in original:
        fold(a, changed("c", v, s))
    for v, s in permuted:
        fold(b, changed("c", v, s))
    assert a == b == {"c": max(original, key=lambda t: t[0])}
