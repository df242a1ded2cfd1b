"""What an incident left, counted: pure, from records already read (reconcile_read.py reads).

Per lead batch: cards published (the first copy of each batch_id; a batch published again is
the same cards) against cards accounted for: gated (a verdict), dead-lettered (an invalid
card, or the whole batch), or waiting (received, not gated yet; or held for enrichment). A
published card in none of these is lost. Per campaign: touches requested (distinct
idempotency keys) against sent, failed and unresolved (neither yet). A key is "twice" when its
sent records name two different provider message ids, or when the SMTP server's Message-IDs
(given as a file) hold its Message-ID more than once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_CAMPAIGN = "(none)"
BATCH_DEAD_LETTERS = {"DLQ-SCHEMA-VERSION", "DLQ-BATCH-CONFLICT", "DLQ-INVALID-EVENT"}


@dataclass
class BatchCount:
    published: int = 0
    verdict: int = 0
    dead_letter: int = 0
    waiting: int = 0
    db_cards: int | None = None  # PostgreSQL's rows, when it was read
    db_verdicts: int | None = None

    @property
    def accounted(self) -> int:
        return self.verdict + self.dead_letter + self.waiting

    @property
    def lost(self) -> int:
        return max(0, self.published - self.accounted)


@dataclass
class CampaignCount:
    requested: int = 0
    sent: int = 0
    failed: int = 0
    db_sent: int | None = None

    @property
    def unresolved(self) -> int:
        return self.requested - self.sent - self.failed


@dataclass
class Reconciliation:
    batches: dict[str, BatchCount] = field(default_factory=dict)
    campaigns: dict[str, CampaignCount] = field(default_factory=dict)
    twice: list[str] = field(default_factory=list)  # idempotency keys
    unreadable_published: int = 0  # batch-topic records with no batch_id to count them under
    unreadable_dead_lettered: int = 0

    @property
    def lost_cards(self) -> int:
        return sum(b.lost for b in self.batches.values()) + max(
            0, self.unreadable_published - self.unreadable_dead_lettered)

    @property
    def unresolved_touches(self) -> int:
        return sum(c.unresolved for c in self.campaigns.values())

    @property
    def ok(self) -> bool:
        return not (self.lost_cards or self.unresolved_touches or self.twice)

    def totals(self) -> dict[str, int]:
        b, c = self.batches.values(), self.campaigns.values()
        return {"published": sum(x.published for x in b),
                "accounted": sum(x.accounted for x in b), "lost": self.lost_cards,
                "requested": sum(x.requested for x in c), "sent": sum(x.sent for x in c),
                "failed": sum(x.failed for x in c), "unresolved": self.unresolved_touches,
                "twice": len(self.twice)}


@dataclass
class Records:
    """The decoded values of each topic (JSON objects; None for a record that is not one)."""

    batches: list[Any] = field(default_factory=list)
    batch_sources: list[tuple[int, int]] = field(default_factory=list)  # (partition, offset)
    batch_topic: str = "social-xpress.lead-batch.ready"
    cards: list[Any] = field(default_factory=list)
    verdicts: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    sends: list[Any] = field(default_factory=list)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def count(records: Records, smtp_message_ids: Iterable[str] = (),
          db: Mapping[str, Any] | None = None) -> Reconciliation:
    out = Reconciliation()
    _count_batches(out, records)
    _count_touches(out, records, smtp_message_ids)
    if db is not None:
        for batch_id, n in db.get("cards", {}).items():
            out.batches.setdefault(batch_id, BatchCount()).db_cards = n
        for batch_id, n in db.get("verdicts", {}).items():
            out.batches.setdefault(batch_id, BatchCount()).db_verdicts = n
        for campaign, n in db.get("sent", {}).items():
            out.campaigns.setdefault(campaign or NO_CAMPAIGN, CampaignCount()).db_sent = n
    return out


def _count_batches(out: Reconciliation, r: Records) -> None:
    published: dict[str, int] = {}
    unreadable: set[tuple[int, int]] = set()
    for value, source in zip(r.batches, r.batch_sources, strict=True):
        env = _obj(value)
        batch_id, cards = env.get("batch_id"), env.get("records")
        if isinstance(batch_id, str) and batch_id and isinstance(cards, list):
            published.setdefault(batch_id, len(cards))
        else:
            unreadable.add(source)
    received: dict[str, dict[str, str]] = defaultdict(dict)
    for card in map(_obj, r.cards):
        if card.get("batch_id") and card.get("lead_id"):
            received[card["batch_id"]][card["lead_id"]] = card.get("disposition", "")
    gated: dict[str, set[str]] = defaultdict(set)
    for v in map(_obj, r.verdicts):
        if v.get("batch_id") and v.get("lead_id"):
            gated[v["batch_id"]].add(v["lead_id"])
    invalid: dict[str, set[str]] = defaultdict(set)
    whole: set[str] = set()
    dead_sources: set[tuple[int, int]] = set()
    for e in map(_obj, r.errors):
        if e.get("stage") != "intake":
            continue
        if e.get("source_topic") == r.batch_topic:
            dead_sources.add((e.get("source_partition", -1), e.get("source_offset", -1)))
        subject = e.get("subject_id")
        if e.get("code") == "DLQ-INVALID-CARD" and subject:
            invalid[subject].add(e.get("event_id", ""))
        elif e.get("code") in BATCH_DEAD_LETTERS and subject in published:
            whole.add(subject)
    for batch_id, n in published.items():
        cards = received.get(batch_id, {})
        verdicts = gated.get(batch_id, set())
        c = out.batches.setdefault(batch_id, BatchCount())
        c.published = n
        c.verdict = len(verdicts & cards.keys()) if cards else len(verdicts)
        if batch_id in whole and not cards:
            c.dead_letter = n
        else:
            c.dead_letter = len(invalid.get(batch_id, ()))
            c.waiting = sum(1 for lead in cards if lead not in verdicts)
    out.unreadable_published = len(unreadable)
    out.unreadable_dead_lettered = len(unreadable & dead_sources)


def _count_touches(out: Reconciliation, r: Records, smtp_message_ids: Iterable[str]) -> None:
    campaign_of: dict[str, str] = {}
    for q in map(_obj, r.requests):
        key = q.get("idempotency_key")
        if key and isinstance(key, str):  # a record without one was dead-lettered
            campaign_of.setdefault(key, q.get("campaign_id") or NO_CAMPAIGN)
    sent_ids: dict[str, set[str]] = defaultdict(set)
    failed: set[str] = set()
    for s in map(_obj, r.sends):
        key = s.get("idempotency_key")
        if not key or not isinstance(key, str):
            continue
        if s.get("status") == "sent":
            sent_ids[key].add(str(s.get("provider_message_id") or "").strip("<>"))
        elif s.get("status") == "failed":
            failed.add(key)
    for key, campaign in campaign_of.items():
        c = out.campaigns.setdefault(campaign, CampaignCount())
        c.requested += 1
        if key in sent_ids:
            c.sent += 1
        elif key in failed:
            c.failed += 1
    twice = {key for key, ids in sent_ids.items() if len(ids) > 1}
    key_of = {mid: key for key, ids in sent_ids.items() for mid in ids}
    for mid, n in Counter(m.strip().strip("<>") for m in smtp_message_ids if m.strip()).items():
        if n > 1:
            twice.add(key_of.get(mid, f"message-id:{mid}"))
    out.twice = sorted(twice)


def as_json(rec: Reconciliation) -> dict[str, Any]:
    return {
        "ok": rec.ok, "totals": rec.totals(),
        "batches": {k: {"published": b.published, "accounted": b.accounted,
                        "verdict": b.verdict, "dead_letter": b.dead_letter,
                        "waiting": b.waiting, "lost": b.lost, "db_cards": b.db_cards,
                        "db_verdicts": b.db_verdicts} for k, b in sorted(rec.batches.items())},
        "campaigns": {k: {"requested": c.requested, "sent": c.sent, "failed": c.failed,
                          "unresolved": c.unresolved, "db_sent": c.db_sent}
                      for k, c in sorted(rec.campaigns.items())},
        "unreadable": {"published": rec.unreadable_published,
                       "dead_lettered": rec.unreadable_dead_lettered},
        "twice": rec.twice,
    }


def as_text(rec: Reconciliation) -> str:
    lines = ["batch                          published accounted verdict dead wait lost  db",
             *(f"{k[:30]:30} {b.published:9} {b.accounted:9} {b.verdict:7} {b.dead_letter:4} "
               f"{b.waiting:4} {b.lost:4}  {'-' if b.db_cards is None else b.db_cards}"
               for k, b in sorted(rec.batches.items())),
             "", "campaign                       requested sent failed unresolved  db",
             *(f"{k[:30]:30} {c.requested:9} {c.sent:4} {c.failed:6} {c.unresolved:10}  "
               f"{'-' if c.db_sent is None else c.db_sent}"
               for k, c in sorted(rec.campaigns.items()))]
    if rec.unreadable_published:
        lines += ["", f"unreadable batch records: {rec.unreadable_published}, dead-lettered "
                      f"{rec.unreadable_dead_lettered}"]
    t = rec.totals()
    lines += ["", "twice: " + (", ".join(rec.twice) if rec.twice else "none"),
              "total: " + " ".join(f"{k}={v}" for k, v in t.items()),
              "verdict: " + ("nothing lost, nothing twice" if rec.ok else "NOT RECONCILED")]
    return "\n".join(lines)
