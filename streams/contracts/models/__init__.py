"""pydantic v2 contracts of every topic (SPEC §2). Frozen; events in the past tense."""

from streams.contracts.models.base import HubEvent
from streams.contracts.models.bit_score import BitScoreEvaluated
from streams.contracts.models.campaign import (
    ApprovalTerms,
    CampaignCommand,
    CampaignCommandRejected,
    CampaignEvent,
    CampaignScope,
    CampaignStateChanged,
    EligibilityVerdict,
)
from streams.contracts.models.campaign_audit import AuditEntry, AuditFinding, CampaignAudited
from streams.contracts.models.campaign_health import (
    CampaignHealthEvaluated,
    CampaignHealthInput,
    CampaignHealthObservations,
    CampaignHealthObserved,
)
from streams.contracts.models.engagement import (
    EngagementRecorded,
    EngagementSignalled,
    MessagePlacement,
    PendingSignalsCheckDue,
    ProviderEventNormalized,
)
from streams.contracts.models.errors import OutreachErrorRaised
from streams.contracts.models.gate import (
    GateVerdict,
    GateVerdictRecord,
    LeadGated,
    LeadsGated,
    WaitingLeadsExpiryDue,
)
from streams.contracts.models.intake import (
    BatchAudited,
    LeadCardReceived,
    LeadCardRecord,
    LeadCardsReceived,
)
from streams.contracts.models.lead_batch import Contact, Enrichment, LeadBatchEnvelope, LeadCard
from streams.contracts.models.merge_fields import MergeFields
from streams.contracts.models.send import SendRecorded, TouchRequested
from streams.contracts.models.sequence import (
    CheckDuePeople,
    CheckDueTouches,
    EnrollContact,
    EnrollContacts,
    SequenceCommand,
    SequenceEventAppended,
)

# Name used in topics.yaml `value:` -> model. The schema file is schemas/<name>.json.
MODELS: dict[str, type] = {
    "LeadBatchEnvelope": LeadBatchEnvelope,
    "LeadCard": LeadCard,
    "BitScoreEvaluated": BitScoreEvaluated,
    "LeadCardReceived": LeadCardReceived,
    "LeadCardsReceived": LeadCardsReceived,
    "LeadCardRecord": LeadCardRecord,
    "BatchAudited": BatchAudited,
    "LeadGated": LeadGated,
    "LeadsGated": LeadsGated,
    "GateVerdictRecord": GateVerdictRecord,
    "WaitingLeadsExpiryDue": WaitingLeadsExpiryDue,
    "CampaignCommand": CampaignCommand,
    "CampaignStateChanged": CampaignStateChanged,
    "CampaignCommandRejected": CampaignCommandRejected,
    "CampaignEvent": CampaignEvent,
    "CampaignHealthObserved": CampaignHealthObserved,
    "CampaignHealthObservations": CampaignHealthObservations,
    "CampaignHealthInput": CampaignHealthInput,
    "CampaignHealthEvaluated": CampaignHealthEvaluated,
    "CampaignAudited": CampaignAudited,
    "TouchRequested": TouchRequested,
    "SendRecorded": SendRecorded,
    "ProviderEventNormalized": ProviderEventNormalized,
    "EngagementRecorded": EngagementRecorded,
    "EngagementSignalled": EngagementSignalled,
    "OutreachErrorRaised": OutreachErrorRaised,
    "EnrollContact": EnrollContact,
    "EnrollContacts": EnrollContacts,
    "CheckDueTouches": CheckDueTouches,
    "CheckDuePeople": CheckDuePeople,
    "SequenceCommand": SequenceCommand,
    "SequenceEventAppended": SequenceEventAppended,
    "PendingSignalsCheckDue": PendingSignalsCheckDue,
    "MessagePlacement": MessagePlacement,
    "AuditEntry": AuditEntry,
}

__all__ = [
    "MODELS",
    "ApprovalTerms",
    "AuditEntry",
    "AuditFinding",
    "BatchAudited",
    "BitScoreEvaluated",
    "CampaignAudited",
    "CampaignCommand",
    "CampaignCommandRejected",
    "CampaignEvent",
    "CampaignHealthEvaluated",
    "CampaignHealthInput",
    "CampaignHealthObservations",
    "CampaignHealthObserved",
    "CampaignScope",
    "CampaignStateChanged",
    "CheckDuePeople",
    "CheckDueTouches",
    "Contact",
    "EligibilityVerdict",
    "EngagementRecorded",
    "EngagementSignalled",
    "Enrichment",
    "EnrollContact",
    "EnrollContacts",
    "GateVerdict",
    "GateVerdictRecord",
    "HubEvent",
    "LeadBatchEnvelope",
    "LeadCard",
    "LeadCardReceived",
    "LeadCardRecord",
    "LeadCardsReceived",
    "LeadGated",
    "LeadsGated",
    "MergeFields",
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
