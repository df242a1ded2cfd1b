"""Campaign shell: gate verdicts, health verdicts and commands -> the campaign aggregate.

Gate verdicts are keyed by company and health verdicts come from another stage, so both are
re-keyed onto `outreach.campaign.commands` (key campaign_id) as commands first: an ALLOW with
a personal strategy is a `request` of the company and strategy's campaign (the first creates
the draft, later ones add to its audience), a PAUSE verdict a `pause_for_health`. One agent
then decides every command of a campaign in order, on the partition that owns it. The gate's
requests go packed, a batch's at once (agents/campaigns/request_packing.py); a pack's commands
are folded per campaign in order (streams/kernel/packed_items.py). A timer
expires drafts past their TTL and activates scheduled campaigns whose window opened, on the
partitions this worker owns.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agents.campaigns.aggregate import CampaignAggregate, CampaignPolicy, EligibilityFacts
from agents.campaigns.aggregate import window_open as _window_open
from agents.campaigns.audit_input import AuditLimits
from agents.campaigns.identity import campaign_id_for
from agents.campaigns.launch import decide
from agents.campaigns.request_packing import COMMANDS_TOPIC, packed_requests
from agents.sequencer.definition import SequenceDefinition, load_definitions
from streams.contracts.decision import Decision, Emit
from streams.contracts.ids import STABLE_IDS
from streams.contracts.models import (
    ApprovalTerms,
    CampaignCommand,
    CampaignCommandRecord,
    GateVerdictRecord,
    LeadGated,
)
from streams.contracts.models.campaign_health import CampaignHealthEvaluated
from streams.kernel.channel import Channel
from streams.kernel.domain_health import DomainHealthView
from streams.kernel.home import home_check
from streams.kernel.hub import Hub
from streams.kernel.loop import Stage, routed
from streams.kernel.packed_items import by_key_at_home, each_item, folded_each, guarded
from streams.kernel.store import Decided, TableStore
from streams.kernel.timer import nudge_owned
from streams.shells.campaign_audit import register_audit

PERSONAL = ("PERSONALIZED_EMAIL", "PHONE_AND_EMAIL")


def policy_of(hub: Hub) -> CampaignPolicy:
    s = hub.settings
    tiers = frozenset(t.strip().upper() for t in s.auto_approve_tiers.split(",") if t.strip())
    return CampaignPolicy(draft_ttl=timedelta(seconds=s.campaign_draft_ttl_s),
                          auto_approve_tiers=tiers,
                          max_sends_per_hour=s.campaign_max_sends_per_hour,
                          max_sends_per_day=s.campaign_max_sends_per_day)


def request_for(verdict: LeadGated, digests: dict[str, tuple[str | None, tuple[str, ...]]]
                ) -> CampaignCommand | None:
    """The system request an ALLOW verdict makes (None: it asks for no campaign)."""
    if (verdict.verdict != "ALLOW" or verdict.strategy not in PERSONAL
            or not verdict.company_sov_id or verdict.strategy not in digests):
        return None
    sequence_id, content = digests[verdict.strategy]
    return CampaignCommand(
        command_id=f"gate:{verdict.event_id}", command="request",
        campaign_id=campaign_id_for(verdict.company_sov_id, verdict.strategy),
        actor="system:gate", issued_at=verdict.occurred_at,
        company_sov_id=verdict.company_sov_id, tier=verdict.tier, strategy=verdict.strategy,
        sequence_id=sequence_id, correlation_id=verdict.correlation_id, audience=1,
        # The draft's content: the digests of its sequence's touches, for the approval to bind.
        approval=ApprovalTerms(content_digests=content),
    )


def health_command(verdict: CampaignHealthEvaluated) -> CampaignCommand | None:
    """What a health verdict asks of its campaign: a PAUSE pauses it (actor system:health);
    HEALTHY and REVIEW ask nothing (a health pause lifts only by a new approval)."""
    if verdict.verdict != "PAUSE":
        return None
    return CampaignCommand(
        command_id=f"health:{verdict.verdict_id}", command="pause_for_health",
        campaign_id=verdict.campaign_id, actor="system:health",
        issued_at=verdict.evaluated_at, health_verdict_id=verdict.verdict_id,
        reason="health verdict PAUSE: " + ", ".join(verdict.reasons),
        correlation_id=verdict.correlation_id)


def draft_content(definitions: dict[str, SequenceDefinition]
                  ) -> dict[str, tuple[str | None, tuple[str, ...]]]:
    """Per strategy, the sequence a draft runs and its touches' content digests (computed from
    the template files when the definitions were loaded): what an approval binds."""
    return {strategy: (d.sequence_id, tuple(t.content_digest for t in d.touches))
            for strategy, d in definitions.items()}


def register(hub: Hub) -> None:
    s, policy = hub.settings, policy_of(hub)
    definitions = load_definitions(s.sequences_file) if s.sequences_file else load_definitions()
    digests = draft_content(definitions)
    sending_domain = s.from_email.rsplit("@", 1)[-1].lower()
    # PAUSE verdicts of the sending domain, from every partition (eligibility of new drafts).
    domain_health = DomainHealthView.on(hub)
    campaigns: TableStore[CampaignAggregate] = TableStore.of(
        hub, "campaigns", "campaign_commands", CampaignAggregate,
        default=lambda key: CampaignAggregate(campaign_id=key))

    def route_verdicts(record: GateVerdictRecord, event: Any) -> list[Decided[Any]]:

        def one(v: LeadGated) -> list[Decided[Any]]:
            command = request_for(v, digests)
            return [routed([] if command is None else [
                Emit("campaign_commands", command.campaign_id, command)])]

        return each_item(hub, "campaigns", event,
                         record.verdicts,  # a pack's, or the one
                         lambda v: v.company_sov_id or v.lead_id, one)

    def route_health(verdict: CampaignHealthEvaluated, _event: Any) -> Decided[None]:
        # Only PAUSE acts on the campaign: a HEALTHY or REVIEW verdict never resumes one (only
        # a new approval overriding the pause does). Whether new drafts of a domain are
        # eligible is the domain view's, which every worker keeps from every partition.
        command = health_command(verdict)
        if command is None:
            return routed([])
        return routed([Emit("campaign_commands", command.campaign_id, command)])

    home_of = home_check(hub, COMMANDS_TOPIC, COMMANDS_TOPIC)

    def decide_campaign(record: CampaignCommandRecord, event: Any) -> list[Decided[Any]]:
        now = hub.clock.now()
        facts = EligibilityFacts(domain_pause=domain_health.pause(sending_domain))
        by_campaign, out = by_key_at_home(record.commands, lambda c: c.campaign_id,
                                          home_of(event), COMMANDS_TOPIC)

        def one(state: CampaignAggregate, command: CampaignCommand
                ) -> Decision[CampaignAggregate]:
            return decide(state, command, now, policy, facts, STABLE_IDS)

        step = guarded(hub, "campaigns", event, out, one, lambda c: c.campaign_id,
                       lambda c: c.command_id)
        return [*folded_each(hub, "campaigns", event, by_campaign,
                             lambda key, mine: campaigns.folded(key, mine, step),
                             lambda c: c.command_id), *out]

    Stage(hub, "campaigns", Channel(hub, "gate_verdicts"), route_verdicts,
          packs={COMMANDS_TOPIC: packed_requests}).agent("campaign-requests")
    Stage(hub, "campaigns", Channel(hub, "campaign_health"), route_health).agent(
        "campaign-health-verdicts")
    Stage(hub, "campaigns", Channel(hub, "campaign_commands"), decide_campaign).agent("campaigns")
    register_audit(hub, campaigns, AuditLimits(
        # The shortest cooling-off any sequence keeps: no send its own sequence allowed fails.
        cooling_off_days=min(d.rules.cooling_off_days for d in definitions.values()),
        cap_per_mailbox=s.caps.per_mailbox, cap_per_domain=s.caps.per_domain))
    # Only drafts (their TTL) and scheduled campaigns (their window) can be due: the timer
    # follows those, not every campaign ever made (kernel/timer.py, MarkedKeys).
    nudge_owned(hub, "campaign-expire-and-activate", s.campaign_check_seconds, campaigns,
                "campaign_commands", "state", due_campaign, wanted=_MAY_COME_DUE.__contains__)


_MAY_COME_DUE = frozenset({"draft", "scheduled"})


def due_campaign(key: str, state: CampaignAggregate, now: datetime) -> Emit | None:
    command = _due_command(state, now)
    return None if command is None else Emit("campaign_commands", key, command)


def _due_command(state: CampaignAggregate, now: datetime) -> CampaignCommand | None:
    """The hub's own command a campaign is due (its id names the moment, so the ticks before
    it is decided send the same command, decided once)."""
    if state.state == "draft" and state.expires_at is not None and now >= state.expires_at:
        return CampaignCommand(
            command_id=f"ttl:{state.campaign_id}:{state.draft_version}", command="expire",
            campaign_id=state.campaign_id, actor="system:ttl", issued_at=now,
            reason="the draft was not approved within its TTL")
    if state.state == "scheduled" and _window_open(state.approval, now):
        return CampaignCommand(
            command_id=f"window:{state.campaign_id}:{state.version}", command="activate",
            campaign_id=state.campaign_id, actor="system:ttl", issued_at=now,
            reason="the approved activation window opened")
    return None
