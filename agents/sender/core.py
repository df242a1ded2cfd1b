"""The sender's decisions, pure: whether a requested touch is sent, and what its result records.

Per person (the send-requests topic is keyed by contact_key) the sender remembers the keys it
has settled and whether the address is suppressed, so a redelivered request is recognised and
never sent twice, and an address that unsubscribed, complained or hard-bounced gets nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from agents.sender import inflight
from agents.sender.calendar_link import sign
from agents.sender.content import ContentLibrary, ContentRefused, merge_values, render_touch
from agents.sender.email import OutgoingEmail, SendReceipt, message_id_for
from agents.sender.inflight import InFlightState, UnknownOutcomePolicy
from streams.contracts.decision import Count, Decision, Emit, MarkInFlight
from streams.contracts.ids import IdFactory
from streams.contracts.models.engagement import EngagementRecorded
from streams.contracts.models.errors import SEVERITY, OutreachErrorRaised
from streams.contracts.models.send import SendRecorded, TouchRequested

KEYS_KEPT = 64
SUPPRESSING = frozenset({"unsubscribed", "complained"})


class SenderState(InFlightState):
    """Per person. `in_flight` (one record per idempotency key, agents/sender/inflight.py) is
    written and flushed before the provider call, so a worker that dies mid-call finds the
    touch on restart and settles it by evidence instead of guessing."""

    settled: tuple[str, ...] = ()  # idempotency keys already sent or failed for good
    suppressed: str | None = None


IN_FLIGHT_AT_RESTART = "in-flight-at-restart"
UNKNOWN_OUTCOME = (
    "outcome unknown: the worker stopped during the provider call and no evidence of the "
    "send came within the bound; not resent (this provider's policy)"
)
GUESS_NOTHING = UnknownOutcomePolicy("fail", timedelta(0))


@dataclass(frozen=True, slots=True)
class SendEmail:
    """Hand this email to the provider adapter (the shell retries transient failures), once
    `marked` is carried out: the state with the request in flight, whose MarkInFlight effect
    makes the kernel store it durably before the provider call."""

    email: OutgoingEmail
    marked: Decision[SenderState]


def _nothing_approved(campaign_id: str | None) -> frozenset[str] | None:
    return None


@dataclass(frozen=True, slots=True)
class SenderConfig:
    from_email: str
    from_name: str
    public_base_url: str
    unsubscribe_secret: bytes
    calendar_secret: bytes = b""  # empty: emails carry no calendar link
    calendar_link_days: int = 30
    # Every touch's template, read when the sender starts (agents/sender/content.py).
    content: ContentLibrary = field(default_factory=ContentLibrary)
    # The content digests a campaign's approval binds (the campaign-status view's terms);
    # None: a campaign with no approval in force (or none known), which sends nothing.
    approved_digests: Callable[[str | None], frozenset[str] | None] = _nothing_approved


def unsubscribe_token(aggregate_id: str, secret: bytes) -> str:
    return hmac.new(secret, aggregate_id.encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_url(cfg: SenderConfig, aggregate_id: str) -> str:
    token = unsubscribe_token(aggregate_id, cfg.unsubscribe_secret)
    query = urlencode({"a": aggregate_id, "t": token})
    return f"{cfg.public_base_url.rstrip('/')}/unsubscribe?{query}"


def calendar_link(request: TouchRequested, cfg: SenderConfig) -> str | None:
    """The signed booking link (sid = aggregate, oid = company); a meeting booked through it
    is accepted back only with this signature, before it expires."""
    if not cfg.calendar_secret:
        return None
    expires = request.due_at + timedelta(days=cfg.calendar_link_days)
    return sign(
        request.aggregate_id,
        request.company_sov_id or "none",
        expires,
        cfg.calendar_secret,
        base_url=f"{cfg.public_base_url.rstrip('/')}/calendar/book",
    )


# Refusals read off the campaign-status view (which may lag), not off the content itself.
NOT_APPROVED = frozenset({"campaign_not_approved", "content_digest_not_approved"})


def approval_refusal(request: TouchRequested, cfg: SenderConfig) -> str | None:
    """Why this touch's content may not go out under its campaign's approval, if it may not."""
    approved = cfg.approved_digests(request.campaign_id)
    if approved is None:
        return "campaign_not_approved"
    if request.content_digest is None or request.content_digest not in approved:
        return "content_digest_not_approved"
    return None


def render(request: TouchRequested, cfg: SenderConfig) -> OutgoingEmail:
    """The email of one touch, rendered from the template its content_digest names, with the
    person's merge fields and the hub's own links. Raises ContentRefused (the reason)."""
    refused = approval_refusal(request, cfg)
    if refused is not None:
        raise ContentRefused(refused)
    touch = cfg.content.find(request.sequence_id, request.touch_index, request.content_digest)
    booking = calendar_link(request, cfg)
    unsubscribe = unsubscribe_url(cfg, request.aggregate_id)
    rendered = render_touch(touch, merge_values(
        request.merge_fields, calendar_link=booking, unsubscribe_link=unsubscribe))
    return OutgoingEmail(
        to_email=request.to_email or "",
        from_email=cfg.from_email,
        from_name=cfg.from_name,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        aggregate_id=request.aggregate_id,
        idempotency_key=request.idempotency_key,
        touch_index=request.touch_index,
        unsubscribe_url=unsubscribe,
        calendar_link=booking,
        custom_args={"contact_key": request.contact_key},
    )


@dataclass(frozen=True, slots=True)
class RecordWithoutSending:
    """Nothing goes to the email provider: the address is suppressed (recorded as failed), the
    touch is a phone task handed to the reps' task queue (recorded as sent there), or its
    content is refused (``failure``: the reason; recorded as failed, OUT-003)."""

    provider: str
    failure: str | None = None


CAMPAIGN_GATE = "campaign-gate"
CONTENT_REFUSED = "hub"  # the provider a refused send records: it never reached one


def decide_request(
    state: SenderState, request: TouchRequested, cfg: SenderConfig,
    campaign_refusal: str | None = None, *,
    now: datetime | None = None, unknown: UnknownOutcomePolicy = GUESS_NOTHING,
) -> Decision[SenderState] | RecordWithoutSending | SendEmail:
    """``campaign_refusal``: why this worker's campaign-status view forbids the touch now (its
    campaign not active, or outside its window); the sender refuses it as the sequencer
    should have (the two views may disagree for a moment around a pause)."""
    key = request.idempotency_key
    if key in state.settled:
        # A redelivered request: recognised, counted, not sent again.
        return Decision(
            state, effects=(Count("sender_requests_total", (("outcome", "duplicate"),)),)
        )
    flight = state.flight(key)
    if flight is not None and now is not None and not inflight.overdue(flight, now, unknown.after):
        # Left in flight by a stopped worker: wait for evidence (the timer brings it back).
        kept = flight.model_copy(update={"request": flight.request or request,
                                         "found": flight.found or now})
        update = {"in_flight": tuple(kept if f.key == key else f for f in state.in_flight)}
        return Decision(state.model_copy(update=update),
                        effects=(Count("sender_requests_total", (("outcome", "unresolved"),)),))
    if flight is not None and unknown.policy == "fail":
        return RecordWithoutSending(IN_FLIGHT_AT_RESTART)
    if flight is None and inflight.blocked(state, request):
        # An earlier touch of this person is unresolved: this one waits, order is kept.
        return Decision(state.model_copy(update=inflight.hold(state, request)),
                        effects=(Count("sender_requests_total", (("outcome", "held"),)),))
    if campaign_refusal is not None:
        return RecordWithoutSending(CAMPAIGN_GATE, failure=campaign_refusal)
    if state.suppressed is not None:
        return RecordWithoutSending("suppression-list")
    if request.channel == "phone_task":
        return RecordWithoutSending("task-queue")
    # New, or unresolved past the bound under "resend": the same email, same Message-ID.
    try:
        email = render(request, cfg)
    except ContentRefused as refused:
        return RecordWithoutSending(CONTENT_REFUSED, failure=refused.reason)
    marked = state.model_copy(update=inflight.mark(
        state, request, now or request.due_at, message_id_for(email)))
    return SendEmail(email, Decision(marked, effects=(MarkInFlight(key),)))


def record_result(
    state: SenderState,
    request: TouchRequested,
    now: datetime,
    ids: IdFactory,
    *,
    receipt: SendReceipt | None = None,
    failure: str | None = None,
    provider: str,
) -> Decision[SenderState]:
    """What a settled request records: sent (with the provider's id) or failed (OUT-003)."""
    if state.suppressed is not None:
        failure = f"address suppressed ({state.suppressed})"
    status = "sent" if failure is None else "failed"
    event = SendRecorded(
        event_id=ids.event_id("send-recorded", request.idempotency_key),
        occurred_at=now,
        correlation_id=request.correlation_id,
        process_id=ids.process_id("send", now, request.idempotency_key),
        aggregate_id=request.aggregate_id,
        contact_key=request.contact_key,
        company_sov_id=request.company_sov_id,
        campaign_id=request.campaign_id,
        touch_index=request.touch_index,
        idempotency_key=request.idempotency_key,
        status=status,
        provider=provider,
        provider_message_id=receipt.provider_message_id if receipt else None,
        failure_reason=failure,
    )
    emits = [Emit("send_events", request.contact_key, event)]
    if failure is not None and state.suppressed is None:
        emits.append(
            Emit(
                "errors",
                request.contact_key,
                OutreachErrorRaised(
                    event_id=ids.event_id("send-failed", request.idempotency_key),
                    occurred_at=now,
                    correlation_id=request.correlation_id,
                    process_id=event.process_id,
                    code="OUT-003",
                    severity=SEVERITY["OUT-003"],
                    stage="sender",
                    reason=failure,
                    subject_id=request.aggregate_id,
                    record={
                        "aggregate_id": request.aggregate_id,
                        "touch_index": request.touch_index,
                        "idempotency_key": request.idempotency_key,
                    },
                ),
            )
        )
    after = _settle(state, request.idempotency_key)
    update, released = inflight.release(after)
    return Decision(
        after.model_copy(update=update),
        (*emits, *released),
        (Count("sender_requests_total", (("outcome", status),)),),
    )


def _settle(state: SenderState, key: str) -> SenderState:
    settled = (*state.settled, key)[-KEYS_KEPT:]
    return state.model_copy(update={"settled": settled, **inflight.without(state, key)})


def on_evidence(
    state: SenderState, key: str | None, message_id: str | None, now: datetime,
    ids: IdFactory, *, provider: str, recorded: bool,
) -> Decision[SenderState]:
    """Evidence that an in-flight touch was sent settles it. `recorded`: the evidence is the
    hub's own send record (already out: nothing to emit); else a provider event naming the
    touch's idempotency key or Message-ID, recorded as sent with the event's message id."""
    flight = state.flight_named(key, message_id)
    if flight is None:
        return Decision(state)
    count = Count("sender_requests_total", (("outcome", "settled-by-evidence"),))
    if recorded or flight.request is None:
        after = _settle(state, flight.key)
        update, released = inflight.release(after)
        return Decision(after.model_copy(update=update), released, (count,))
    receipt = SendReceipt(provider=provider, provider_message_id=message_id or flight.key,
                          accepted_at=now)
    # Sent whatever the address became since: the evidence says it went out.
    sent = record_result(state.model_copy(update={"suppressed": None}), flight.request, now,
                         ids, receipt=receipt, provider=provider)
    return Decision(sent.state.model_copy(update={"suppressed": state.suppressed}),
                    sent.emits, (count,))


def on_engagement(state: SenderState, event: EngagementRecorded) -> SenderState:
    """Unsubscribe, complaint and hard bounce suppress the address for every later send."""
    hard = event.type == "bounced" and event.bounce_kind == "hard"
    if state.suppressed is None and (event.type in SUPPRESSING or hard):
        return state.model_copy(update={"suppressed": "bounced" if hard else event.type})
    return state
