"""pydantic v2 contracts of every topic (SPEC §2). Frozen; events in the past tense."""

from streams.contracts.models.base import HubEvent
from streams.contracts.models.bit_score import BitScoreEvaluated
from streams.contracts.models.campaign import CampaignCommand, CampaignStateChanged
from streams.contracts.models.campaign_audit import AuditEntry, AuditFinding, CampaignAudited
from streams.contracts.models.engagement import (
    EngagementRecorded,
    EngagementSignalled,
    MessagePlacement,
    PendingSignalsCheckDue,
    ProviderEventNormalized,
)
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.models.gate import GateVerdict, LeadGated, WaitingLeadsExpiryDue
from streams.contracts.models.intake import BatchAudited, LeadCardReceived
from streams.contracts.models.lead_batch import Contact, Enrichment, LeadBatchEnvelope, LeadCard
from streams.contracts.models.send import SendRecorded, TouchRequested
from streams.contracts.models.sequence import (
    CheckDuePeople,
    CheckDueTouches,
    EnrollContact,
    SequenceCommand,
    SequenceEventAppended,
)

# Name used in topics.yaml `value:` -> model. The schema file is schemas/<name>.json.
MODELS: dict[str, type] = {
    "LeadBatchEnvelope": LeadBatchEnvelope,
    "LeadCard": LeadCard,
    "BitScoreEvaluated": BitScoreEvaluated,
    "LeadCardReceived": LeadCardReceived,
    "BatchAudited": BatchAudited,
    "LeadGated": LeadGated,
    "WaitingLeadsExpiryDue": WaitingLeadsExpiryDue,
    "CampaignCommand": CampaignCommand,
    "CampaignStateChanged": CampaignStateChanged,
    "TouchRequested": TouchRequested,
    "SendRecorded": SendRecorded,
    "ProviderEventNormalized": ProviderEventNormalized,
    "EngagementRecorded": EngagementRecorded,
    "EngagementSignalled": EngagementSignalled,
    "OutreachErrorRaised": OutreachErrorRaised,
    "EnrollContact": EnrollContact,
    "CheckDueTouches": CheckDueTouches,
    "CheckDuePeople": CheckDuePeople,
    "SequenceCommand": SequenceCommand,
    "SequenceEventAppended": SequenceEventAppended,
    "PendingSignalsCheckDue": PendingSignalsCheckDue,
    "MessagePlacement": MessagePlacement,
    "CampaignAudited": CampaignAudited,
    "AuditEntry": AuditEntry,
}

__all__ = [
    "MODELS",
    "AuditEntry",
    "AuditFinding",
    "BatchAudited",
    "BitScoreEvaluated",
    "CampaignAudited",
    "CampaignCommand",
    "CampaignStateChanged",
    "CheckDuePeople",
    "CheckDueTouches",
    "Contact",
    "EngagementRecorded",
    "EngagementSignalled",
    "Enrichment",
    "EnrollContact",
    "GateVerdict",
    "HubEvent",
    "LeadBatchEnvelope",
    "LeadCard",
    "LeadCardReceived",
    "LeadGated",
    "MessagePlacement",
    "OutreachErrorRaised",
    "PendingSignalsCheckDue",
    "ProviderEventNormalized",
    "SendRecorded",
    "SequenceCommand",
    "SequenceEventAppended",
    "TouchRequested",
    "WaitingLeadsExpiryDue",
]
