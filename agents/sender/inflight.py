"""Touches whose outcome is unknown, per idempotency key, and how evidence settles them.

The sender marks a touch in flight (durably) before the provider call and settles it when the
call returns. A touch still in flight when a record is decided was left by a worker that
stopped mid-call (a SIGKILL, a lost partition): sent or not, nobody knows. It is never guessed:

- evidence settles it as sent: the hub's own send record for that key (emitted before the
  state was written), or a provider event naming its idempotency key or its Message-ID;
- with no evidence, it waits `after` from when a decision first found it unresolved (not
  from when it was marked: a restart can take longer than the bound, and the evidence is read
  only once the worker runs again), then the provider's policy decides: `resend` hands the
  same email (same idempotency key, Message-ID and headers) to the provider again, `fail`
  records OUT-003 "outcome unknown" for an operator.

While a person has an unresolved touch, their later touches wait in the state, in order, and
go back onto the send-requests topic (same event ids) one at a time once nothing earlier is
unresolved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import model_validator

from streams.contracts.decision import Emit
from streams.contracts.models.base import AwareDatetime, Frozen
from streams.contracts.models.send import TouchRequested

Policy = Literal["resend", "fail"]
# What a provider's unresolved touch becomes after the bound when no evidence came: SMTP has
# no event feed (the same Message-ID lets receivers see one message); SendGrid's Event Webhook
# reports every processed message, so a missing event is surfaced rather than guessed; the
# sandbox keeps no record across a restart.
DEFAULT_POLICY: dict[str, Policy] = {"smtp": "resend", "sendgrid": "fail", "sandbox": "resend"}
WAITING_KEPT = 32


class InFlight(Frozen):
    """One touch handed to the provider and not settled yet."""

    key: str
    since: AwareDatetime | None = None  # hub time it was (last) handed over; None: unknown
    attempts: int = 1
    found: AwareDatetime | None = None  # hub time a decision first found it unresolved
    message_id: str | None = None  # the Message-ID it carries, when the hub chose it
    request: TouchRequested | None = None  # kept to resend it, or to record it from evidence


@dataclass(frozen=True, slots=True)
class UnknownOutcomePolicy:
    policy: Policy
    after: timedelta


class InFlightState(Frozen):
    """The sender state's fields this module reads and writes (SenderState extends it)."""

    in_flight: tuple[InFlight, ...] = ()
    waiting: tuple[TouchRequested, ...] = ()  # later touches held behind an unresolved one

    @model_validator(mode="before")
    @classmethod
    def _one_slot_states(cls, data: object) -> object:
        # States written before per-touch records held one key (or None) per person.
        if isinstance(data, dict):
            old = data.get("in_flight")
            if old is None or isinstance(old, str):
                data = {**data, "in_flight": () if old is None else ({"key": old},)}
        return data

    def flight(self, key: str) -> InFlight | None:
        return next((f for f in self.in_flight if f.key == key), None)

    def flight_named(self, key: str | None, message_id: str | None) -> InFlight | None:
        for f in self.in_flight:
            if (key is not None and f.key == key) or (
                message_id is not None and f.message_id is not None
                and f.message_id.strip("<>") == message_id.strip("<>")
            ):
                return f
        return None


def mark(state: InFlightState, request: TouchRequested, now: datetime,
         message_id: str | None) -> dict[str, object]:
    """The update that puts `request` in flight (a resend counts one more attempt)."""
    old = state.flight(request.idempotency_key)
    record = InFlight(key=request.idempotency_key, since=now,
                      attempts=(old.attempts + 1) if old else 1, message_id=message_id,
                      request=request)
    others = tuple(f for f in state.in_flight if f.key != request.idempotency_key)
    return {"in_flight": (*others, record), **_unwait(state, request.idempotency_key)}


def without(state: InFlightState, key: str) -> dict[str, object]:
    """The update that settles `key`: neither in flight nor waiting any more."""
    return {"in_flight": tuple(f for f in state.in_flight if f.key != key),
            **_unwait(state, key)}


def _unwait(state: InFlightState, key: str) -> dict[str, object]:
    return {"waiting": tuple(w for w in state.waiting if w.idempotency_key != key)}


def blocked(state: InFlightState, request: TouchRequested) -> bool:
    """A touch must wait: another touch of this person is unresolved, or one waits ahead of
    it (the held touches go one at a time, first first)."""
    key = request.idempotency_key
    return any(f.key != key for f in state.in_flight) or bool(
        state.waiting and state.waiting[0].idempotency_key != key)


def hold(state: InFlightState, request: TouchRequested) -> dict[str, object]:
    if any(w.idempotency_key == request.idempotency_key for w in state.waiting):
        return {}
    ordered = sorted((*state.waiting, request), key=lambda r: (r.touch_index, r.due_at))
    return {"waiting": tuple(ordered[-WAITING_KEPT:])}


def release(state: InFlightState) -> tuple[dict[str, object], tuple[Emit, ...]]:
    """Nothing unresolved any more: the first held touch goes back onto its topic (it stays
    held until decided, so a later touch delivered meanwhile still waits behind it)."""
    if state.in_flight or not state.waiting:
        return {}, ()
    first = state.waiting[0]
    return {}, (Emit("send_requests", first.contact_key, first),)


def overdue(flight: InFlight, now: datetime, bound: timedelta) -> bool:
    return flight.found is not None and now - flight.found >= bound


def stale(flight: InFlight, now: datetime, bound: timedelta) -> bool:
    """Unresolved and not seen since: its request may have been committed (a lost partition
    moved on); the timer brings it back to be found."""
    return flight.found is None and (flight.since is None or now - flight.since >= bound)


def renudge(state: InFlightState, now: datetime, bound: timedelta) -> Emit | None:
    """The timer's nudge for a person: the oldest unresolved touch past the bound goes onto
    the send-requests topic again (the same record: its decision settles it), or a held touch
    when nothing is unresolved any more."""
    for f in sorted(state.in_flight, key=lambda f: f.since or now):
        if f.request is not None and (overdue(f, now, bound) or stale(f, now, bound)):
            return Emit("send_requests", f.request.contact_key, f.request)
    if not state.in_flight and state.waiting:
        first = state.waiting[0]
        return Emit("send_requests", first.contact_key, first)
    return None
