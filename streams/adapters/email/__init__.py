"""Email-provider adapters: ``build_adapter`` picks one by name from settings."""

from __future__ import annotations

import random
from typing import Literal, get_args

from agents.sender.email import (
    NowFn,
    OutgoingEmail,
    ProviderAdapter,
    SendReceipt,
)
from streams.adapters.email.base import wall_now
from streams.adapters.email.sandbox import (
    Publish,
    SandboxDelays,
    SandboxProvider,
    SandboxRates,
    SandboxSettings,
)
from streams.adapters.email.sendgrid import SendGridAdapter, SendGridSettings
from streams.adapters.email.smtp import SmtpAdapter, SmtpSettings
from streams.contracts.exceptions import ConfigurationError

AdapterName = Literal["sandbox", "smtp", "sendgrid"]
ADAPTER_NAMES: tuple[str, ...] = get_args(AdapterName)


def build_adapter(
    name: str,
    *,
    smtp: SmtpSettings | None = None,
    sendgrid: SendGridSettings | None = None,
    sandbox: SandboxSettings | None = None,
    publish: Publish | None = None,
    now: NowFn = wall_now,
    rng: random.Random | None = None,
) -> ProviderAdapter:
    """The configured adapter. ``now`` should be the hub clock's ``now`` (hub time), ``publish``
    the sandbox's route to the provider events topic. Missing settings are a configuration
    error, raised at start-up rather than at the first send."""
    if name == "sandbox":
        if publish is None:
            raise ConfigurationError("provider 'sandbox' needs a publish callable")
        return SandboxProvider(publish, now, rng or random.Random(), sandbox)
    if name == "smtp":
        if smtp is None:
            raise ConfigurationError("provider 'smtp' needs SMTP settings (host, port, ...)")
        return SmtpAdapter(smtp, now)
    if name == "sendgrid":
        if sendgrid is None:
            raise ConfigurationError("provider 'sendgrid' needs SendGrid settings (api_key)")
        return SendGridAdapter(sendgrid, now)
    raise ConfigurationError(f"unknown email provider {name!r}; expected one of {ADAPTER_NAMES}")


__all__ = [
    "ADAPTER_NAMES",
    "AdapterName",
    "OutgoingEmail",
    "ProviderAdapter",
    "Publish",
    "SandboxDelays",
    "SandboxProvider",
    "SandboxRates",
    "SandboxSettings",
    "SendGridAdapter",
    "SendGridSettings",
    "SendReceipt",
    "SmtpAdapter",
    "SmtpSettings",
    "build_adapter",
]
