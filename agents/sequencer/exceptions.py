"""Errors the sequencer raises on purpose.

They subclass the wiring layer's classes so a caller that already maps ``ConfigurationError`` /
``InvalidInput`` (the CLI: exit code 2) handles them without knowing this package.
"""

from __future__ import annotations

from pydantic import ValidationError

from streams.contracts.exceptions import ConfigurationError, HubError, InvalidInput


class SequencerError(HubError):
    """Base class of every error of the sequencer package."""


class InvalidSequenceDefinition(SequencerError, ConfigurationError):
    """A sequence definition (or the file of them) is malformed; the message names the field."""


class InvalidSequenceInput(SequencerError, InvalidInput):
    """A decision request (harness case, CLI input) is malformed; the message names the field."""


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem, each naming the field by its dotted path (``touches[1].index``)."""
    lines = []
    for err in exc.errors():
        path = prefix
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += f".{part}" if path else str(part)
        message = err["msg"].removeprefix("Value error, ")
        lines.append(f"{path or '<root>'}: {message}")
    return "; ".join(lines)
