"""The sender stage: hands each due touch to an email provider (adapters: I/O at the edge).

Adapters live in ``streams.adapters.email``; signed meeting links in
``agents.sender.calendar_link``. This package root stays import-light.
"""

from agents.sender.exceptions import (
    CalendarLinkError,
    CalendarLinkExpired,
    InvalidCalendarSignature,
    SenderError,
    SendFailed,
)

__all__ = [
    "CalendarLinkError",
    "CalendarLinkExpired",
    "InvalidCalendarSignature",
    "SendFailed",
    "SenderError",
]
