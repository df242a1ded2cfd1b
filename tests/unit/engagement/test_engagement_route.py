"""Where a webhook's events are decided: on their person's partition where they land, re-keyed
to it, or placed by message id (agents/engagement/route.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agents.engagement.exceptions import MalformedWebhook
from agents.engagement.normalize import normalize
from agents.engagement.route import route_webhook

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
ANN, BOB = "5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c", "7c1d"


def hub_event(n: int, aggregate_id: str | None, message_id: str | None = None) -> dict[str, object]:
    return {"provider": "hub", "provider_event_id": f"e{n}", "type": "replied",
            "occurred_at": "2026-11-30T12:00:00Z", "aggregate_id": aggregate_id,
            "provider_message_id": message_id}


def paths(out: object) -> list[str]:
    return [dict(c.labels)["path"] for c in out.counts]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("home", "here", "routed"), [
    (set(), [], [("engagement_routed", ANN)]),
    ({ANN}, [ANN], []),
    ({BOB}, [], [("engagement_routed", ANN)]),
])
def test_an_event_is_decided_where_it_lands_only_on_its_persons_partition(
        home: set[str], here: list[str], routed: list[tuple[str, str]]) -> None:
    out = route_webhook(orjson.dumps(hub_event(1, f"seq-hot:{ANN}")), NOW, home.__contains__)
    assert [e.contact_key for e in out.here] == here
    assert [(e.topic, e.key) for e in out.emits] == routed
    assert all(e.event.contact_key == ANN for e in out.emits)  # type: ignore[attr-defined]
    assert paths(out) == ["here" if here else "rerouted"]


def test_without_a_partition_to_compare_every_event_is_rerouted() -> None:
    out = route_webhook(orjson.dumps(hub_event(1, f"seq-hot:{ANN}")), NOW)
    assert out.here == () and [e.topic for e in out.emits] == ["engagement_routed"]


def test_an_event_naming_only_its_message_is_placed_wherever_it_lands() -> None:
    out = route_webhook(orjson.dumps(hub_event(1, None, "msg-1")), NOW, lambda _k: True)
    assert out.here == ()
    assert [(e.topic, e.key) for e in out.emits] == [("engagement_placement", "msg-1")]
    assert paths(out) == ["placement"]


def test_an_event_that_names_no_person_and_no_message_rejects_the_body() -> None:
    with pytest.raises(MalformedWebhook, match="cannot be placed"):
        route_webhook(orjson.dumps(hub_event(1, None)), NOW, lambda _k: True)


def test_a_sendgrid_batch_is_split_three_ways_in_body_order() -> None:
    body = (FIXTURES / "sendgrid_batch.json").read_bytes()
    out = route_webhook(body, NOW, {ANN}.__contains__)
    events = normalize(body)
    assert [e.provider_event_id for e in out.here] == [
        e.provider_event_id for e in events if e.aggregate_id and e.aggregate_id.endswith(ANN)]
    assert [(e.topic, e.key) for e in out.emits] == [
        ("engagement_routed", BOB) if e.aggregate_id else
        ("engagement_placement", e.provider_message_id)
        for e in events if not (e.aggregate_id and e.aggregate_id.endswith(ANN))]


@given(st.lists(st.tuples(st.sampled_from([ANN, BOB, "c9", None]), st.booleans()),
                min_size=1, max_size=12),
       st.sets(st.sampled_from([ANN, BOB, "c9"])))
def test_every_event_goes_exactly_one_way(events: list[tuple[str | None, bool]],
                                          home: set[str]) -> None:
    body = orjson.dumps([hub_event(n, f"seq:{who}" if who else None, f"m{n}" if named or not who
                                   else None) for n, (who, named) in enumerate(events)])
    out = route_webhook(body, NOW, home.__contains__)
    taken = [e.provider_event_id for e in out.here] + [
        getattr(e.event, "provider_event_id", None) or e.event.event.provider_event_id  # type: ignore[attr-defined]
        for e in out.emits]
    assert sorted(taken) == sorted(f"e{n}" for n in range(len(events)))
    assert len(out.counts) == len(events)
    assert all(e.contact_key in home for e in out.here)
    assert not any(e.topic == "engagement_routed" and e.key in home for e in out.emits)
