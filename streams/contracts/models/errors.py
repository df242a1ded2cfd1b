"""Dead letters and outreach errors (SPEC §3 "Errors"): one shape for the errors topic."""

from __future__ import annotations

from typing import Any, Literal

from streams.contracts.models.base import HubEvent

OutreachErrorCode = Literal[
    "OUT-001",  # BIT score below threshold (blocked)
    "OUT-002",  # no verified contacts available
    "OUT-003",  # email send failed
    "OUT-004",  # engagement tracking delayed
    "OUT-005",  # campaign creation failed
]
DeadLetterCode = Literal[
    "DLQ-MALFORMED",  # not JSON, or not the expected shape
    "DLQ-SCHEMA-VERSION",  # a schema_version the hub does not accept
    "DLQ-INVALID-CARD",  # one lead card fails validation
    "DLQ-BATCH-CONFLICT",  # a batch_id seen before, now with other content
    "DLQ-INVALID-EVENT",  # any other input event that fails validation
    "DLQ-PROCESSING-FAILED",  # the stage failed on this record (a bug, kept for replay)
    "SEQ-ESCALATED",  # the sequencer could not decide (missing state, version conflict)
]
# The campaign auditor's incident (a FAIL verdict) and escalation (INCONCLUSIVE): on the errors
# topic so operators see them where they see every other thing needing a person.
AuditCode = Literal["AUDIT-FAILED", "AUDIT-INCONCLUSIVE"]
Severity = Literal["critical", "high", "medium", "low"]

SEVERITY: dict[str, Severity] = {
    "OUT-001": "critical",
    "OUT-002": "high",
    "OUT-003": "medium",
    "OUT-004": "low",
    "OUT-005": "high",
    "DLQ-MALFORMED": "high",
    "DLQ-SCHEMA-VERSION": "high",
    "DLQ-INVALID-CARD": "medium",
    "DLQ-BATCH-CONFLICT": "high",
    "DLQ-INVALID-EVENT": "medium",
    "DLQ-PROCESSING-FAILED": "high",
    "SEQ-ESCALATED": "high",
    "AUDIT-FAILED": "critical",  # sends broke the approval or the law: a compliance incident
    "AUDIT-INCONCLUSIVE": "high",
}


class OutreachErrorRaised(HubEvent):
    code: OutreachErrorCode | DeadLetterCode | AuditCode
    severity: Severity
    stage: str
    reason: str
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    subject_id: str | None = None  # batch_id, lead_id, campaign_id... whatever it concerns
    record: Any = None  # the offending record (parsed JSON, or text when it is not JSON)
    # Added for `outreach-hub dlq replay`; optional, so older dead letters still read. True only
    # when `record` is the whole source record as JSON and the key is known: re-encoding
    # `record` and producing it with `source_key` (None: the record had no key) re-creates it.
    # A card cut from a batch, the text of a non-JSON record or an omitted large one is False.
    source_key: str | None = None
    replayable: bool = False
