"""Which key a verified webhook body is produced under: the person it is about, when known."""

from __future__ import annotations

import orjson
from webhook_signing import fixture

from agents.engagement.ingress import SeenIds
from agents.engagement.ingress.keys import records

PERSON = b"5b7f0c1e-2f4a-4c7e-9a55-1d2e3f4a5b6c"


def test_each_provider_is_keyed_by_the_person_of_its_aggregate_id() -> None:
    for provider, name in [("mailgun", "mailgun_opened.json"), ("postmark", "postmark_open.json"),
                           ("ses", "ses_open.json")]:
        body = fixture(name)
        assert records(provider, body, orjson.loads(body)) == [(PERSON, body)], provider
    one_person = orjson.loads(fixture("sendgrid_batch.json"))[:5]
    body = orjson.dumps(one_person, option=orjson.OPT_INDENT_2)
    assert records("sendgrid", body, one_person) == [(PERSON, body)]  # as received


def test_a_sendgrid_batch_is_split_by_person_in_order() -> None:
    body = fixture("sendgrid_batch.json")
    batch = orjson.loads(body)
    parts = records("sendgrid", body, batch)
    assert [key for key, _ in parts] == [PERSON, b"7c1d", None]
    assert orjson.loads(parts[0][1]) == [e for e in batch if e.get("aggregate_id", "").endswith(
        PERSON.decode())]
    assert orjson.loads(parts[1][1]) == [batch[5]]
    assert orjson.loads(parts[2][1]) == [batch[6], batch[7], batch[10]]


def test_a_body_without_a_person_goes_unkeyed_as_it_is() -> None:
    doc = orjson.loads(fixture("mailgun_opened.json"))
    doc["event-data"].pop("user-variables")
    body = orjson.dumps(doc)
    assert records("mailgun", body, doc) == [(None, body)]
    assert records("ses", b"{}", {"Message": "not json"}) == [(None, b"{}")]


def test_remembered_ids_expire_with_the_bound_and_are_bounded_in_number() -> None:
    seen = SeenIds(300, limit=3)
    for i in range(5):
        seen.claim(f"id{i}", 1000.0)
    assert len(seen) == 3
    seen.claim("id0", 1000.0)  # evicted by number: a stale timestamp refuses it instead
    seen.claim("late", 1400.0)
    assert len(seen) == 1


def test_the_hubs_own_form_is_keyed_by_its_person() -> None:
    doc = {"provider": "hub", "provider_event_id": "e1", "type": "replied",
           "aggregate_id": f"seq-hot:{PERSON.decode()}"}
    body = orjson.dumps(doc)
    assert records("hub", body, doc) == [(PERSON, body)]
    assert records("hub", b"{}", {}) == [(None, b"{}")]
