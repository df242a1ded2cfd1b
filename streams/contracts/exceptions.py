"""Errors raised by the wiring layer (settings, topics, runtime, sink)."""


class HubError(Exception):
    """Base class of every error the hub's wiring raises on purpose."""


class ConfigurationError(HubError):
    """A setting, topics.yaml or a sequence definition is invalid."""


class TopicNotDeclared(ConfigurationError):
    """Code asked for a topic that topics.yaml does not declare."""


class EmbeddedRuntimeError(HubError):
    """The embedded broker or PostgreSQL could not be started."""


class InvalidInput(HubError):
    """A CLI input (file or stdin) is not what the command reads."""


class Unreachable(HubError):
    """The broker or PostgreSQL could not be reached (or refused the connection) in time."""
