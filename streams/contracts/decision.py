"""What every pure core returns: the new state, the events to emit, and other effects as values.

The shell's interpreter (streams/kernel/interpreter.py) carries them out; no core does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Emit:
    """Send ``event`` to the topic declared as ``topic`` (a topics.yaml alias) under ``key``."""

    topic: str
    key: str
    event: BaseModel


@dataclass(frozen=True, slots=True)
class Count:
    """Increment the Prometheus counter ``metric`` with these label values."""

    metric: str
    labels: tuple[tuple[str, str], ...] = ()
    amount: float = 1.0


# Stages add effect values of their own (the sequencer's ConsumeCap); Count is shared.
Effect = object


@dataclass(frozen=True, slots=True)
class Decision(Generic[S]):
    state: S
    emits: tuple[Emit, ...] = ()
    effects: tuple[Effect, ...] = field(default_factory=tuple)
