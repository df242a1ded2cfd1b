"""SMTP adapter (aiosmtplib): one connection per message.

A connection per message keeps failure handling simple (no half-dead pooled session to detect);
the sender's concurrency, not connection reuse, sets throughput.
"""

from __future__ import annotations

import email.policy
import io
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib
from pydantic import Field, SecretStr

from agents.sender.email import (
    NowFn,
    OutgoingEmail,
    SendReceipt,
    args_as_headers,
    message_id_for,
)
from agents.sender.exceptions import SendFailed, scrub
from streams.adapters.email.base import wall_now
from streams.contracts.models.base import Frozen

# Fold only past RFC 5322's hard 998-octet limit: the default 78 makes Python encode a long
# List-Unsubscribe URI as RFC 2047 words, which mailbox providers do not decode.
_WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)


class SmtpSettings(Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    use_tls: bool = False  # implicit TLS (port 465)
    start_tls: bool | None = None  # None: STARTTLS when the server offers it
    validate_certs: bool = True
    timeout: float = Field(default=30.0, gt=0)
    local_hostname: str | None = None
    # Right-hand side of Message-ID; default: the From domain.
    message_id_domain: str | None = None


def build_message(message: OutgoingEmail, settings: SmtpSettings, now: NowFn) -> EmailMessage:
    """The MIME message as the receiving server will see it (pure but for ``now``)."""
    msg = EmailMessage()
    msg["From"] = formataddr((message.from_name or "", message.from_email))
    msg["To"] = message.to_email
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(now())
    # Same idempotency key, same Message-ID: receivers and DSNs see a resend as one message.
    msg["Message-ID"] = message_id_for(message, settings.message_id_domain)
    for name, value in message.list_unsubscribe_headers().items():
        msg[name] = value
    for name, value in args_as_headers(message.all_custom_args()).items():
        msg[name] = value
    msg.set_content(message.text_body)
    if message.html_body:
        msg.add_alternative(message.html_body, subtype="html")
    return msg


def to_wire(msg: EmailMessage) -> bytes:
    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=_WIRE_POLICY).flatten(msg)
    return buffer.getvalue()


def classify(exc: Exception, provider: str = "smtp") -> SendFailed:
    """Map an aiosmtplib / socket error onto transient or permanent."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        # RFC 5321: 4yz transient negative completion, 5yz permanent.
        permanent = 500 <= exc.code < 600
        kind = type(exc).__name__
        detail = scrub(exc.message)
        return SendFailed(
            f"smtp {exc.code} ({kind}): {detail}",
            provider=provider,
            transient=not permanent,
            code=exc.code,
        )
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # E.g. STARTTLS or AUTH demanded but not offered: configuration, retrying cannot help.
        return SendFailed(
            f"smtp not supported: {scrub(str(exc))}", provider=provider, transient=False
        )
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return SendFailed("smtp timed out", provider=provider, transient=True)
    # Refused / reset connections, DNS failures, disconnects: the relay may be back soon.
    return SendFailed(
        f"smtp connection failed ({type(exc).__name__}): {scrub(str(exc))}",
        provider=provider,
        transient=True,
    )


class SmtpAdapter:
    name = "smtp"

    def __init__(self, settings: SmtpSettings, now: NowFn = wall_now) -> None:
        self.settings = settings
        self._now = now

    async def send(self, message: OutgoingEmail) -> SendReceipt:
        s = self.settings
        msg = build_message(message, s, self._now)
        try:
            await aiosmtplib.send(
                to_wire(msg),
                sender=message.from_email,
                recipients=[message.to_email],
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password.get_secret_value() if s.password else None,
                use_tls=s.use_tls,
                start_tls=s.start_tls,
                validate_certs=s.validate_certs,
                timeout=s.timeout,
                local_hostname=s.local_hostname,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            # `from None`: aiosmtplib's own exceptions name the recipient.
            raise classify(exc, self.name) from None
        message_id = str(msg["Message-ID"]).strip("<>")
        return SendReceipt(
            provider=self.name, provider_message_id=message_id, accepted_at=self._now()
        )

    async def close(self) -> None:
        """Nothing pooled to release: one connection per message."""
