"""Record size limits come from topics.yaml: a 10,000-card lead batch fits its topic, a record
over a topic's limit is refused with the limit named, and topics are created with the limit."""

from __future__ import annotations

import orjson
import pytest

from streams.admin import record_bytes, refuse_oversized
from streams.contracts.exceptions import InvalidInput
from streams.contracts.topics import DEFAULT_MAX_MESSAGE_BYTES, load_catalog
from streams.kernel.kafka_security import PLAINTEXT
from streams.sample import lead_batch

CATALOG = load_catalog()


def test_a_10000_card_batch_fits_the_lead_batch_topic_with_room() -> None:
    spec = CATALOG["lead_batches"]
    batch = orjson.dumps(lead_batch("sxp_2026_11_25_0001", cards=10_000, companies=40))
    assert 2 * record_bytes(b"sxp_2026_11_25_0001", batch) < spec.max_message_bytes
    refuse_oversized(spec.name, [(b"k", batch)], spec.max_message_bytes)
    assert spec.config()["max.message.bytes"] == str(spec.max_message_bytes)


def test_the_hubs_clients_take_the_largest_record_of_any_topic() -> None:
    assert CATALOG.max_message_bytes == CATALOG["lead_batches"].max_message_bytes == 16 * 2**20
    assert CATALOG["lead_cards"].max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES


def test_a_record_over_the_limit_is_refused_naming_the_limit() -> None:
    small = (b"a", b"{}")
    big = (b"b", b"x" * 2_000_000)
    with pytest.raises(InvalidInput) as info:
        refuse_oversized("outreach.audit", [small, big], 1_048_576)
    message = str(info.value)
    assert message.startswith("message 2 of 2 is 2,000,")
    assert "outreach.audit takes at most 1,048,576 bytes" in message


def test_produce_takes_the_topics_own_limit_when_given_none() -> None:
    import asyncio

    from streams.admin import produce

    big = [(b"k", b"x" * 2_000_000)]
    with pytest.raises(InvalidInput, match=r"takes at most 1,048,576 bytes"):
        asyncio.run(produce("127.0.0.1:1", CATALOG["audit"].name, big, security=PLAINTEXT))
