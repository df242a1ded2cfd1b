"""How long the broker may hold a fetch that finds no new record (`OUTREACH_FETCH_MAX_WAIT_MS`).

Faust builds its worker consumer with `fetch_max_wait_ms=1500` and no setting for it. Kafka
answers a waiting fetch as soon as a record arrives, so there the wait costs nothing. Tansu,
the embedded broker, answers only when the wait ends: a record produced every 100 ms to an
idle topic reached a raw aiokafka consumer after p50 358 ms / p99 731 ms with a 1,500 ms wait,
131 / 246 ms with 500 ms, and 4 / 9 ms with 100 ms (`bench/fetch_wait.py`, at 9fa7265). A
reply's stop is one fetch after the webhook where it lands on its person's partition (2dcba52),
two where it is re-keyed first.

The default is 500 ms. In `bench/e2e.py --layout pools` (six workers on two cores, 2dbb80c)
a reply's stop p50 went 1.6-1.7 s → 0.9 s at 500 ms and 0.4-0.5 s at 100 ms, but at 100 ms the
pools reached 99 leads/s flat out against 138-141: an idle consumer asks Tansu ten times a
second, and the broker shares the cores.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_WAIT_MS: WeakKeyDictionary[Any, int] = WeakKeyDictionary()
_faust_create = AIOKafkaConsumerThread._create_worker_consumer


def _create_worker_consumer(self: Any, transport: Any) -> Any:
    consumer = _faust_create(self, transport)
    wait = _WAIT_MS.get(self.app)
    if wait is not None:
        # Read by AIOKafkaConsumer.start, which builds the fetcher with it.
        consumer._fetch_max_wait_ms = wait
    return consumer


def install(app: Any, wait_ms: int) -> None:
    """The worker consumer of `app` asks for at most `wait_ms` (other apps keep Faust's)."""
    _WAIT_MS[app] = wait_ms
    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
