"""The sequencer's pure decision core: the person fold (`person.decide_person`, what the worker
and `sequencer decide` run) over each sequence's next step (`core.next_step`), SPEC §3
"Sequences".

Nothing here talks to Kafka, PostgreSQL or a clock; ``now`` and every id come from the caller.
"""

from agents.sequencer.core import StopState, next_step
from agents.sequencer.definition import (
    SequenceDefinition,
    SequenceRules,
    Touch,
    load_definitions,
    parse_definition,
)
from agents.sequencer.exceptions import (
    InvalidSequenceDefinition,
    InvalidSequenceInput,
    SequencerError,
)
from agents.sequencer.projection import SequenceEventRecord, SequenceProjection

__all__ = [
    "InvalidSequenceDefinition",
    "InvalidSequenceInput",
    "SequenceDefinition",
    "SequenceEventRecord",
    "SequenceProjection",
    "SequenceRules",
    "SequencerError",
    "StopState",
    "Touch",
    "load_definitions",
    "next_step",
    "parse_definition",
]
