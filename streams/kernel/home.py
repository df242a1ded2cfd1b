"""Whether a record may be decided where it landed: on the partition its person's state is on.

The engagement stage and the sequencer read the providers' webhooks beside the topics their
tables are partitioned like. An event of a person whose partition is the very partition the
webhook landed on can be decided there, a hop sooner (agents/engagement/route.py,
agents/sequencer/reply.py); any other goes the long way round. "There" holds only when

- the webhook topic has as many partitions on the broker as the person's topic (an operator
  may have made it otherwise: the counts are the broker's, not topics.yaml's, read from this
  worker's own metadata on every worker of a group, leader or not; and a table
  written under a record of a topic of another count raises Faust's PartitionsMismatch);
- the person's partition is the murmur2 partition of the contact key, as the hub's producers
  place it (streams/kernel/partitioning.py);
- this worker owns that partition of the person's topic now. In one consumer group Faust
  assigns co-subscribed topics of one count together, but while a rolling upgrade mixes
  workers that read the webhooks with workers that do not, the webhook topic is assigned
  apart, and its partition p may be here while the persons of p are elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.kernel.hub import Hub
from streams.kernel.partitioning import broker_partitions, partition_for
from streams.kernel.timer import owned_partitions

Home = Callable[[str], bool]


def _nowhere(_contact_key: str) -> bool:
    return False


def home_check(hub: Hub, source_alias: str, person_alias: str) -> Callable[[Any], Home]:
    """For a record of `source_alias`: which contact keys' states, partitioned like
    `person_alias`, are on the record's partition and owned by this worker."""
    source, person = hub.catalog[source_alias].name, hub.catalog[person_alias].name

    def home(event: Any) -> Home:
        partition = event.message.partition
        count = broker_partitions(hub.app, source)
        if (count is None or count != broker_partitions(hub.app, person)
                or partition not in owned_partitions(hub.app, person)):
            return _nowhere
        return lambda key: partition_for(key, count) == partition

    return home
