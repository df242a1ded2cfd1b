"""Typed channels: the topics a stage reads, each decoded to the model topics.yaml names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from streams.contracts import codec
from streams.contracts.models import MODELS
from streams.kernel.delivery import HoldingTopic
from streams.kernel.hub import Hub

Decoder = Callable[[bytes], Any]


class Channel:
    """One Faust topic over one or more topics.yaml aliases, raw bytes in and out (the kernel
    encodes and decodes, so Faust's codec machinery costs nothing per record).

    `decode(event)` validates the record's value against its topic's model; `models` gives an
    alias a decoder of its own (of the raw bytes: a core that reads its records itself).
    `first` names the aliases of the stage's reply path, whose records the stage takes before
    the others (kernel/delivery.py).
    """

    def __init__(self, hub: Hub, *aliases: str, models: dict[str, Decoder] | None = None,
                 first: tuple[str, ...] = ()):
        if not aliases:
            raise ValueError("a channel reads at least one topic")
        if not set(first) <= set(aliases):
            raise ValueError(f"first names aliases the channel does not read: {sorted(first)}")
        self.aliases = aliases
        self.specs = {hub.catalog[a].name: hub.catalog[a] for a in aliases}
        overrides = models or {}
        self._decoders: dict[str, Decoder] = {
            name: overrides.get(spec.alias) or _validator(MODELS[spec.value])
            for name, spec in self.specs.items()
        }
        self._alias = {name: spec.alias for name, spec in self.specs.items()}
        self.topic = (
            hub.topic(aliases[0]) if len(aliases) == 1
            else HoldingTopic(hub.app, topics=list(self.specs), key_serializer="raw",
                              value_serializer="raw",
                              first=[hub.catalog[a].name for a in first])
        )

    def alias_of(self, event: Any) -> str:
        return self._alias[event.message.topic]

    def decode(self, event: Any) -> Any:
        return self._decoders[event.message.topic](event.value)


def _validator(model: type[BaseModel]) -> Decoder:
    def decode(raw: bytes) -> BaseModel:
        return model.model_validate(codec.loads(raw))

    return decode
