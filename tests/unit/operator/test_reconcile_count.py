"""The reconciliation's counts: cards lost, touches unresolved, keys sent twice."""

from __future__ import annotations

from typing import Any

import pytest

from streams.operator.reconcile_count import Records, as_json, as_text, count


def batch(batch_id: str, n: int) -> dict[str, Any]:
    return {"batch_id": batch_id, "records": [{"lead_id": f"{batch_id}-{i}"} for i in range(n)]}


def card(batch_id: str, i: int, disposition: str = "FORWARDED") -> dict[str, Any]:
    return {"batch_id": batch_id, "lead_id": f"{batch_id}-{i}", "disposition": disposition}


def verdict(batch_id: str, i: int) -> dict[str, Any]:
    return {"batch_id": batch_id, "lead_id": f"{batch_id}-{i}"}


def request(key: str, campaign: str | None = "c1") -> dict[str, Any]:
    return {"idempotency_key": key, "campaign_id": campaign}


def send(key: str, status: str = "sent", mid: str | None = None) -> dict[str, Any]:
    return {"idempotency_key": key, "status": status, "provider_message_id": mid or f"m-{key}"}


def records(**kw: Any) -> Records:
    r = Records(**kw)
    r.batch_sources = [(0, n) for n in range(len(r.batches))]
    return r


def test_a_batch_published_three_times_counts_its_cards_once_all_accounted() -> None:
    r = records(batches=[batch("b1", 4)] * 3,
                cards=[card("b1", i) for i in range(3)] * 2 + [card("b1", 3, "NOT_EXECUTABLE")],
                verdicts=[verdict("b1", i) for i in range(2)] * 3)
    rec = count(r)
    b = rec.batches["b1"]
    assert (b.published, b.verdict, b.waiting, b.dead_letter, b.lost) == (4, 2, 2, 0, 0)
    assert rec.ok


@pytest.mark.parametrize(("errors", "dead", "lost"), [
    ([], 0, 2),  # two cards never arrived, nothing says why: lost
    ([{"stage": "intake", "code": "DLQ-INVALID-CARD", "subject_id": "b1", "event_id": "x1"},
      {"stage": "intake", "code": "DLQ-INVALID-CARD", "subject_id": "b1", "event_id": "x2"},
      {"stage": "intake", "code": "DLQ-INVALID-CARD", "subject_id": "b1", "event_id": "x2"}],
     2, 0),  # dead-lettered (one dead letter delivered twice)
])
def test_cards_neither_received_nor_dead_lettered_are_lost(
        errors: list[Any], dead: int, lost: int) -> None:
    rec = count(records(batches=[batch("b1", 3)], cards=[card("b1", 0)],
                        verdicts=[verdict("b1", 0)], errors=errors))
    assert (rec.batches["b1"].dead_letter, rec.lost_cards, rec.ok) == (dead, lost, lost == 0)


def test_a_whole_batch_dead_lettered_is_accounted_and_unreadable_records_need_a_letter() -> None:
    r = records(batches=[batch("b1", 5), b"garbage", None],
                errors=[{"stage": "intake", "code": "DLQ-SCHEMA-VERSION", "subject_id": "b1"},
                        {"stage": "intake", "code": "DLQ-INVALID-EVENT",
                         "source_topic": "social-xpress.lead-batch.ready",
                         "source_partition": 0, "source_offset": 1}])
    rec = count(r)
    assert rec.batches["b1"].dead_letter == 5
    assert (rec.unreadable_published, rec.unreadable_dead_lettered, rec.lost_cards) == (2, 1, 1)


def test_touches_per_campaign_requested_sent_failed_unresolved() -> None:
    r = records(requests=[request("k1"), request("k2"), request("k2"), request("k3"),
                          request("k4", None)],
                sends=[send("k1"), send("k1"), send("k2", "failed"), send("k4")])
    rec = count(r)
    c1, none = rec.campaigns["c1"], rec.campaigns["(none)"]
    assert (c1.requested, c1.sent, c1.failed, c1.unresolved) == (3, 1, 1, 1)
    assert (none.requested, none.sent) == (1, 1)
    assert rec.unresolved_touches == 1 and not rec.ok
    assert "NOT RECONCILED" in as_text(rec)


def test_a_key_sent_under_two_message_ids_or_received_twice_by_the_server_is_twice() -> None:
    r = records(requests=[request("k1"), request("k2"), request("k3")],
                sends=[send("k1", mid="a"), send("k1", mid="b"), send("k2", mid="<m2@x>"),
                       send("k3", mid="m3@x")])
    rec = count(r, smtp_message_ids=["<m2@x>", "<m3@x>", "<m2@x>"])
    assert rec.twice == ["k1", "k2"]
    assert as_json(rec)["totals"]["twice"] == 2 and not rec.ok


def test_the_database_counts_are_shown_beside_the_topics() -> None:
    rec = count(records(batches=[batch("b1", 1)], cards=[card("b1", 0)],
                        verdicts=[verdict("b1", 0)], requests=[request("k1")],
                        sends=[send("k1")]),
                db={"cards": {"b1": 1}, "verdicts": {"b1": 1}, "sent": {"c1": 1}})
    out = as_json(rec)
    assert out["batches"]["b1"]["db_cards"] == 1 and out["campaigns"]["c1"]["db_sent"] == 1
    assert out["ok"] is True and "nothing lost, nothing twice" in as_text(rec)
