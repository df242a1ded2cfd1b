"""Errors shared by the stages' shells."""

from streams.exceptions import HubError


class StageError(HubError):
    """A stage could not carry out a decision."""
