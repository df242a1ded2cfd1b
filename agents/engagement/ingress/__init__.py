"""Verifying email-provider webhooks before anything of theirs reaches the hub (pure).

One module per provider (``sendgrid``, ``mailgun``, ``ses``, ``postmark``) proves that a post
is the provider's own and fresh; ``keys`` says under which key each part of a verified body
goes onto ``email-provider.events``. The HTTP pages (streams/webhooks.py) only read the
request, call these, produce and answer.

Decisions that hold for every provider:
- A refusal is ``Refused`` with the HTTP status to answer (401: unsigned, forged, stale or
  replayed; 400: not the provider's shape) and a one-line reason that names fields, never
  their values: the reason is logged, and bodies are full of email addresses.
- Freshness is judged on wall time (the ``now`` passed in, unix seconds), not the hub's clock,
  which a demo may run accelerated: the providers sign with real time.
- A signed timestamp more than the bound away from now, in either direction, is stale.
- Ids that identify one delivery (Mailgun's token, the SNS MessageId) are remembered for the
  bound (``SeenIds``): an older signed post is stale anyway, so a longer memory buys nothing.
  The memory is per worker: a replay posted to another worker within the bound is produced,
  and the engagement stage dedupes it on the provider's event id like any redelivery.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["MAX_SEEN", "Refused", "SeenIds", "check_fresh"]

MAX_SEEN = 100_000


class Refused(Exception):
    """The post is not accepted: answer ``status``, log ``reason``, produce nothing."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def unauthorized(reason: str) -> Refused:
    return Refused(401, reason)


def malformed(reason: str) -> Refused:
    return Refused(400, reason)


def check_fresh(signed_at: float, now: float, max_age: float, what: str) -> None:
    if abs(now - signed_at) > max_age:
        raise unauthorized(f"{what} is {now - signed_at:.0f}s from now (bound {max_age:.0f}s)")


class SeenIds:
    """Delivery ids accepted within the bound, oldest first, at most ``limit`` of them.

    ``claim`` before producing and ``release`` when producing failed: the provider's retry of a
    post the hub could not take must not be refused as its own replay.
    """

    def __init__(self, max_age: float, limit: int = MAX_SEEN) -> None:
        self.max_age = max_age
        self.limit = limit
        self._seen: OrderedDict[str, float] = OrderedDict()

    def claim(self, delivery_id: str, now: float) -> None:
        while self._seen and (
            len(self._seen) >= self.limit or next(iter(self._seen.values())) < now - self.max_age
        ):
            self._seen.popitem(last=False)
        if delivery_id in self._seen:
            raise unauthorized("replayed: this delivery was accepted already")
        self._seen[delivery_id] = now

    def release(self, delivery_id: str) -> None:
        self._seen.pop(delivery_id, None)

    def __len__(self) -> int:
        return len(self._seen)
