"""The sequencer's pure decision core: read projection -> decide -> append (SPEC §3 "Sequences").

Nothing here talks to Kafka, PostgreSQL or a clock; ``now`` and every id come from the caller.
"""

from agents.sequencer.core import (
    AppendEvent,
    ContactRef,
    DecisionOutcome,
    Escalation,
    NextTouchPacket,
    SequencerDecision,
    StopState,
    apply_append,
    decide,
)
from agents.sequencer.definition import (
    SequenceDefinition,
    SequenceRules,
    Touch,
    load_definitions,
    parse_definition,
)
from agents.sequencer.exceptions import (
    AppendRejected,
    InvalidSequenceDefinition,
    InvalidSequenceInput,
    SequencerError,
)
from agents.sequencer.projection import SequenceEventRecord, SequenceProjection

__all__ = [
    "AppendEvent",
    "AppendRejected",
    "ContactRef",
    "DecisionOutcome",
    "Escalation",
    "InvalidSequenceDefinition",
    "InvalidSequenceInput",
    "NextTouchPacket",
    "SequenceDefinition",
    "SequenceEventRecord",
    "SequenceProjection",
    "SequenceRules",
    "SequencerDecision",
    "SequencerError",
    "StopState",
    "Touch",
    "apply_append",
    "decide",
    "load_definitions",
    "parse_definition",
]
