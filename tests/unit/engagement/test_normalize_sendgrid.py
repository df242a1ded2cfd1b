"""SendGrid Event Webhook: a batched array; skipped kinds, bounce kinds, message id suffixes,
custom args, and a malformed element rejecting the whole body without quoting it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agents.engagement.exceptions import MalformedWebhook
from agents.engagement.normalize import normalize
from agents.engagement.normalize.sendgrid import message_id
from streams.contracts.models.engagement import ProviderEventNormalized

FIXTURES = Path(__file__).parent / "fixtures"
AGG = "seq-hot-nurture:5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c"
IDEM = "send:seq-hot-nurture:5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c:1"
MID = "14c5d75ce93.dfd.64b469"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def event(**fields: Any) -> ProviderEventNormalized:
    return ProviderEventNormalized(provider="sendgrid", **fields)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_batch_yields_every_engagement_event_in_order_and_skips_processed_and_deferred() -> None:
    mine = {"provider_message_id": MID, "aggregate_id": AGG, "idempotency_key": IDEM}
    assert normalize((FIXTURES / "sendgrid_batch.json").read_bytes()) == [
        event(provider_event_id="hqFbp3HH9WxIM0R2-x2M1Q", type="delivered",
              occurred_at=at(2026, 1, 12, 15, 0, 9), **mine),
        event(provider_event_id="FOTFFO0ecsBE-zxFXfs6WA", type="opened",
              occurred_at=at(2026, 1, 12, 16, 30), **mine),
        event(provider_event_id="kCAi1KttyQdEKHhdC-nuEA", type="clicked",
              occurred_at=at(2026, 1, 12, 16, 31), **mine),
        event(provider_event_id="6g4ZI7SA-xmRDv57GoPIPw", type="bounced", bounce_kind="hard",
              provider_message_id="LRzXl66sR-a7R_CIXFT8hQ", occurred_at=at(2026, 1, 12, 15, 1),
              aggregate_id="seq-hot-nurture:7c1d", idempotency_key="send:seq-hot-nurture:7c1d:1"),
        event(provider_event_id="Bn2wA9yOT8WAXfSlo4N_pQ", type="bounced", bounce_kind="soft",
              provider_message_id="Yx3kT0fDRdGz9b4t8uA1sQ", occurred_at=at(2026, 1, 12, 15, 2)),
        event(provider_event_id="zmzJhfJgAfUSOW80yEbPyw", type="bounced", bounce_kind="hard",
              provider_message_id="14c5d75ce94.dfd.64b470", occurred_at=at(2026, 1, 12, 15, 3)),
        event(provider_event_id="37nvH5QBz858KGVYCM4uOA", type="complained",
              occurred_at=at(2026, 1, 13, 9), **mine),
        event(provider_event_id="zz_BjPgU_5pS-J8vlfB1sg", type="unsubscribed",
              occurred_at=at(2026, 1, 13, 9, 5), **mine),
        event(provider_event_id="ahSCB7xYcXFb-hEaawsPRw", type="unsubscribed",
              provider_message_id="Q2hR8dU2TkaHc1vYx3C1sw", occurred_at=at(2026, 1, 13, 9, 6)),
    ]


def test_occurred_at_is_aware_utc() -> None:
    for normalized in normalize(load("sendgrid_batch.json")):
        assert normalized.occurred_at.utcoffset() is not None
        assert normalized.occurred_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "14c5d75ce93.dfd.64b469"),
        ("LRzXl66sR-a7R_CIXFT8hQ.filterdrecv-5645d9c87f-78xgx-1-62F9B2B4-5B-0",
         "LRzXl66sR-a7R_CIXFT8hQ"),
        ("kWiIWQBnRv2hblH5P-2sOA.recvd-5f8bdc5f6-4jwhj-1-5EF5D6C7-C.0", "kWiIWQBnRv2hblH5P-2sOA"),
        ("LRzXl66sR-a7R_CIXFT8hQ", "LRzXl66sR-a7R_CIXFT8hQ"),
        (None, None),
    ],
)
def test_message_id_is_the_send_apis_x_message_id(raw: str | None, expected: str | None) -> None:
    assert message_id(raw) == expected


def test_a_batch_of_only_skipped_kinds_yields_no_event() -> None:
    batch = load("sendgrid_batch.json")[:2]
    assert [e["event"] for e in batch] == ["processed", "deferred"]
    assert normalize(batch) == []


def test_an_element_without_sg_event_id_rejects_the_whole_body_naming_the_field() -> None:
    body = (FIXTURES / "sendgrid_missing_event_id.json").read_text()
    with pytest.raises(MalformedWebhook) as info:
        normalize(body)
    assert str(info.value) == "sendgrid: [1].sg_event_id is missing"


def test_unknown_event_type_is_malformed_and_lists_the_known_ones() -> None:
    with pytest.raises(MalformedWebhook) as info:
        normalize(load("sendgrid_unknown_event.json"))
    message = str(info.value)
    assert message.startswith("sendgrid: [0].event is not a SendGrid event type (")
    assert "machine_opened" not in message
    assert "spamreport" in message


def test_empty_array_is_malformed() -> None:
    with pytest.raises(MalformedWebhook, match="empty array"):
        normalize((FIXTURES / "empty_array.json").read_bytes())
    with pytest.raises(MalformedWebhook, match="empty array"):
        normalize([], "sendgrid")


def test_a_broken_skipped_element_still_rejects_the_body() -> None:
    batch = load("sendgrid_batch.json")
    del batch[0]["timestamp"]  # the `processed` one, which would be skipped
    with pytest.raises(MalformedWebhook, match=r"^sendgrid: \[0\]\.timestamp is missing$"):
        normalize(batch)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("timestamp", "1768230009", "is not a number of seconds since 1970"),
        ("timestamp", True, "is not a number of seconds since 1970"),
        ("timestamp", -5, "is not a time after 1970"),
        ("timestamp", 10**20, "is out of range for a time"),
        ("sg_event_id", 12345, "is not a string"),
        ("sg_event_id", "", "is missing"),
        ("event", None, "is missing"),
        ("aggregate_id", ["a"], "is not a string"),
        ("idempotency_key", {"k": "v"}, "is not a string"),
    ],
)
def test_wrong_kinds_of_values_name_the_field(field: str, value: Any, problem: str) -> None:
    batch = load("sendgrid_batch.json")
    batch[2][field] = value
    with pytest.raises(MalformedWebhook) as info:
        normalize(batch)
    assert str(info.value) == f"sendgrid: [2].{field} {problem}"


def test_an_element_that_is_not_an_object_is_malformed() -> None:
    batch = load("sendgrid_batch.json")
    batch.insert(1, "jane.doe@example.com")
    with pytest.raises(MalformedWebhook) as info:
        normalize(batch)
    assert str(info.value) == "sendgrid: [1] is not a JSON object"


def test_named_sendgrid_but_not_an_array() -> None:
    with pytest.raises(MalformedWebhook, match="not a JSON array"):
        normalize(load("sendgrid_batch.json")[2], "sendgrid")


def test_bounce_without_type_is_hard_and_an_unknown_subtype_is_soft() -> None:
    batch = load("sendgrid_batch.json")
    bounce = batch[5]
    legacy = {k: v for k, v in bounce.items() if k != "type"}
    future = {**copy.deepcopy(bounce), "type": "expired"}
    assert [e.bounce_kind for e in normalize([legacy, future])] == ["hard", "soft"]


def test_missing_custom_args_and_message_id_are_none() -> None:
    bare = {"event": "open", "sg_event_id": "x1", "timestamp": 1768230009}
    assert normalize([bare]) == [
        event(provider_event_id="x1", type="opened", occurred_at=at(2026, 1, 12, 15, 0, 9))
    ]


def test_duplicates_are_kept_with_their_id_for_the_consumer_to_dedupe() -> None:
    delivered = load("sendgrid_batch.json")[2]
    events = normalize([delivered, dict(delivered)])
    assert len(events) == 2 and events[0] == events[1]
