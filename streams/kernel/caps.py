"""The sequencer's daily-cap counters, spent by ConsumeCap effects, and its campaign-rate
counters, spent by ConsumeQuota effects.

A cap counter is per partition, UTC day, and sending mailbox or recipient domain (agents/
sequencer/caps.py); a rate counter per partition, campaign and UTC hour or day (agents/
sequencer/campaign_quota.py). Decisions of a batch see the batch's own spending at once
(`get`); the table is written after the broker has the batch's emits, once per counter and
batch rather than per touch (a mailbox's counter is shared by every person of the partition).
Once a day per partition the counters no one reads again are dropped.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agents.sequencer.campaign_quota import quota_keys
from agents.sequencer.caps import cap_keys, expired_cap_keys
from agents.sequencer.window import cap_day
from streams.contracts.decision import ConsumeCap, ConsumeQuota
from streams.kernel import changelog
from streams.kernel.changelog import Recorded, with_event
from streams.kernel.clock import Clock


class CapLedger:
    def __init__(self, table: Any, clock: Clock) -> None:
        self.table, self.clock = table, clock
        self._decided: Counter[str] = Counter()  # spent by decisions of the current batch
        self._spent: Counter[str] = Counter()  # of those, acknowledged and due to be written
        self._events: dict[str, Any] = {}  # counter -> an event of its partition
        self._partitions: dict[int, Any] = {}
        self._swept: dict[int, str] = {}  # partition -> the day its old counters were dropped

    def get(self, key: str) -> int:
        """Spent today: the table's count plus what this batch's decisions spent."""
        return int(self.table.get(key) or 0) + self._decided[key]

    def decided(self, partition: int, effects: Any) -> None:
        """A decision of this batch spent these caps: the next decisions see it at once (the
        next person of the same nudge too, so the stage calls this as it decides)."""
        for effect in effects:
            if isinstance(effect, ConsumeCap | ConsumeQuota):
                self._decided.update(_keys(partition, effect))

    def saw(self, event: Any) -> None:
        """An event of the batch: its partition's old counters are swept once a day."""
        self._partitions.setdefault(event.message.partition, event)

    def spent(self, event: Any, effect: ConsumeCap | ConsumeQuota) -> None:
        for key in _keys(event.message.partition, effect):
            self._spent[key] += 1
            self._events[key] = event

    def commit(self) -> list[Recorded]:
        """Write the batch's spending (one record per counter); returns the writes."""
        written = [changelog.write(self._events[key], self.table, key,
                                   int(self.table.get(key) or 0) + n)
                   for key, n in self._spent.items()]
        today = cap_day(self.clock.now())
        for partition, event in self._partitions.items():
            if self._swept.get(partition) != today:
                self._swept[partition] = today
                with_event(event)
                for key in expired_cap_keys(list(self.table.keys()), partition, today):
                    del self.table[key]
        self._decided.clear()
        self._spent.clear()
        self._events.clear()
        self._partitions.clear()
        return written


def _keys(partition: int, effect: ConsumeCap | ConsumeQuota) -> tuple[str, str]:
    if isinstance(effect, ConsumeQuota):
        return quota_keys(partition, effect.campaign_id, effect.hour, effect.day)
    return cap_keys(partition, effect.day, effect.mailbox, effect.domain)
