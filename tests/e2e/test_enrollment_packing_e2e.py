"""Packed enrollments, driven from outside with confluent-kafka against a running worker.

The sequencer's enrollments travel packed by their person's partition. A record packed for
another partition count than the broker's holds an enrollment whose person is elsewhere: the
sequencer sends it on alone under its person's key. A person enrolled twice in one record gets
one sequence: the second enrollment sees what the first left, and is declined.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from confluent_kafka import Producer

from agents.campaigns.identity import campaign_id_for
from agents.sequencer.enrollment import contact_key_for
from streams.contracts.codec import dumps
from streams.contracts.models import EnrollContact, EnrollContacts
from streams.kernel.partitioning import partition_for
from streams.kernel.settings import Settings
from streams.process import WorkerProcess
from streams.runtime import prepare
from tests.e2e.topic_reader import topic_records

pytestmark = pytest.mark.e2e

PARTITIONS = 4
COMPANY = "cmp_packed_enrollments"


def verdict(lead: str, address: str) -> bytes:
    """An ALLOW verdict of a HOT lead: its campaign is created and approved by the policy."""
    return json.dumps({
        "event_id": f"verdict-{lead}", "occurred_at": "2026-11-23T12:00:00Z",
        "correlation_id": "corr-packed", "lead_id": lead, "batch_id": "sxp_packed",
        "process_id": "outreach-execution-campaign-20261123-0a1b2c3d",
        "company_sov_id": COMPANY, "bit_score": 66, "score_evaluated_at": "2026-11-23T11:00:00Z",
        "verdict": "ALLOW", "tier": "HOT", "strategy": "PERSONALIZED_EMAIL", "reasons": [],
        "error_code": None, "company_name": "Packed Roofing",
        "contact": {"email": address, "email_verified": True, "timezone": "UTC"},
    }).encode()


def enrollment(lead: str, address: str) -> EnrollContact:
    return EnrollContact(
        enrollment_id=f"enroll-{lead}", contact_key=contact_key_for(address), lead_id=lead,
        company_sov_id=COMPANY, campaign_id=campaign_id_for(COMPANY, "PERSONALIZED_EMAIL"),
        strategy="PERSONALIZED_EMAIL", tier="HOT", to_email=address, timezone="UTC",
        correlation_id="corr-packed", requested_at="2026-11-23T12:00:00Z")  # type: ignore[arg-type]


def addresses(run: str) -> tuple[str, str, str]:
    """Two persons on one partition and one on another (of PARTITIONS)."""
    found: dict[int, list[str]] = {}
    n = 0
    while True:
        address = f"person{n}.{run}@packed.example"
        part = partition_for(contact_key_for(address), PARTITIONS)
        found.setdefault(part, []).append(address)
        here = next((p for p, a in found.items() if len(a) >= 2), None)
        if here is not None and len(found) > 1:
            there = next(a[0] for p, a in found.items() if p != here)
            return found[here][0], there, found[here][1]
        n += 1


async def sequences_of(url: str, keys: list[str]) -> Counter[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT contact_key FROM outreach.sequences "
                                "WHERE contact_key = ANY($1::text[])", keys)
    finally:
        await conn.close()
    return Counter(r["contact_key"] for r in rows)


async def test_a_packed_enrollment_elsewhere_goes_alone_and_a_person_twice_gets_one_sequence(
    broker: str, database_url: str, tmp_path: Path
) -> None:
    await prepare(Settings(topic_partitions=PARTITIONS), broker, database_url)
    run = uuid.uuid4().hex[:8]
    worker = WorkerProcess.start(broker, database_url, tmp_path / "worker.log", {
        "OUTREACH_APP_ID": f"packed-{run}", "OUTREACH_TOPIC_PARTITIONS": str(PARTITIONS),
        "OUTREACH_WINDOW_START_HOUR": "0", "OUTREACH_WINDOW_END_HOUR": "24",
        "OUTREACH_WINDOW_WEEKDAYS": "0,1,2,3,4,5,6", "OUTREACH_SEQUENCER_TICK_SECONDS": "0.25",
        "OUTREACH_SANDBOX_ENGAGEMENT": "false", "OUTREACH_AUTO_APPROVE_TIERS": "HOT",
        "OUTREACH_DATA_DIR": str(tmp_path / "data")})
    try:
        worker.wait_ready(90)
        ann, bob, cy = addresses(run)
        # murmur2, as the hub's producers partition (librdkafka's default hashes otherwise).
        producer = Producer({"bootstrap.servers": broker, "partitioner": "murmur2_random"})
        # A verdict of the company first: its campaign is created and approved, and its
        # person (Ann) enrolled through the enrollment stage.
        producer.produce("outreach.gate.verdict", key=COMPANY, value=verdict(f"seed-{run}", ann))
        # Then a pack as if the topic had one partition: Ann again (another lead), Bob of
        # another partition, Cy, and Cy again.
        pack = EnrollContacts(enrollments=(
            enrollment(f"a2-{run}", ann), enrollment(f"b-{run}", bob),
            enrollment(f"c-{run}", cy), enrollment(f"c2-{run}", cy)))
        producer.produce("outreach.sequence.commands", key=contact_key_for(ann),
                         value=dumps(pack))
        assert producer.flush(10) == 0

        keys = [contact_key_for(a) for a in (ann, bob, cy)]
        deadline, got = time.monotonic() + 90, Counter[str]()
        while time.monotonic() < deadline and set(got) != set(keys):
            got = await sequences_of(database_url, keys)
            time.sleep(0.5)
        time.sleep(2)  # a second sequence, were one started, has had its time to land
        got = await sequences_of(database_url, keys)
    finally:
        assert worker.stop() == 0
    assert got == Counter(keys), (tmp_path / "worker.log").read_text()[-4000:]

    records = topic_records(broker, "outreach.sequence.commands")
    # Bob's enrollment, sent on alone to his partition as written before packing.
    alone = [r for r in records if r.get("type") == "enroll_contact"]
    assert [r["contact_key"] for r in alone] == [contact_key_for(bob)]
    # The enrollment stage packs too: Ann's first enrollment came as a pack of one.
    packed = [e["lead_id"] for r in records if r.get("type") == "enroll_contacts"
              for e in r["enrollments"]]
    assert f"seed-{run}" in packed
