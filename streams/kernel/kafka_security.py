"""How every Kafka client of the hub authenticates and encrypts: one settings group
(OUTREACH_KAFKA_SECURITY_PROTOCOL, OUTREACH_KAFKA_SASL_*, OUTREACH_KAFKA_SSL_*) and the two
translations of it, `client_kwargs` for a plain aiokafka client and `faust_credentials` for the
Faust app (which hands them to its consumers, producer and admin requests).

Every aiokafka client the hub constructs passes `**client_kwargs(...)`
(tests/unit/kernel/test_kafka_security_everywhere.py fails on one that does not): a client that
forgot would speak PLAINTEXT to a SASL_SSL listener and fail only in production.
"""

from __future__ import annotations

import functools
import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from streams.contracts.exceptions import ConfigurationError

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
VAR = "OUTREACH_KAFKA_"
FILES = ("ssl_cafile", "ssl_certfile", "ssl_keyfile")


class KafkaSecurity(BaseModel):
    """The environment names are OUTREACH_KAFKA_ + the field name in capitals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    security_protocol: SecurityProtocol = Field(default="PLAINTEXT", description=(
        "how every Kafka client of the hub connects (the Faust app, the admin client, every "
        "plain consumer and producer); other than PLAINTEXT needs `OUTREACH_KAFKA_BOOTSTRAP`: "
        "the embedded broker is PLAINTEXT. See [Kafka security](#kafka-security)"))
    sasl_mechanism: SaslMechanism | None = Field(default=None, description=(
        "required with a SASL protocol"))
    sasl_username: str | None = Field(default=None, description="required with a SASL protocol")
    sasl_password: SecretStr | None = Field(default=None, description=(
        "required with a SASL protocol"))
    ssl_cafile: Path | None = Field(default=None, description=(
        "PEM file of the CA(s) that signed the brokers' certificates; unset: the system's "
        "trusted CAs"))
    ssl_certfile: Path | None = Field(default=None, description=(
        "a client certificate (PEM), for listeners that require one"))
    ssl_keyfile: Path | None = Field(default=None, description=(
        "the client certificate's key (PEM); unset: the key is in the certificate file"))
    ssl_key_password: SecretStr | None = Field(default=None, description=(
        "the key file's password, if it is encrypted"))
    ssl_check_hostname: bool = Field(default=True, description=(
        "false accepts any certificate of the trusted CAs, whatever host it names (logged as "
        "a warning)"))

    @field_validator("security_protocol", "sasl_mechanism", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper().replace("_SHA_", "-SHA-") if isinstance(value, str) else value

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @model_validator(mode="after")
    def _coherent(self) -> KafkaSecurity:
        """One line naming the variables; never a password (nor whether it looked right)."""
        protocol = f"{VAR}SECURITY_PROTOCOL={self.security_protocol}"
        sasl_fields = ("sasl_mechanism", "sasl_username", "sasl_password")
        if self.sasl:
            missing = [f"{VAR}{f.upper()}" for f in sasl_fields if not getattr(self, f)]
            if missing:
                raise ValueError(f"{protocol} needs {', '.join(missing)}")
        elif given := [f"{VAR}{f.upper()}" for f in sasl_fields if getattr(self, f)]:
            raise ValueError(f"{', '.join(given)} set but {protocol} does not use SASL "
                             "(SASL_SSL or SASL_PLAINTEXT does)")
        tls_fields = (*FILES, "ssl_key_password")
        if not self.tls and (given := [f"{VAR}{f.upper()}" for f in tls_fields
                                       if getattr(self, f) is not None]):
            raise ValueError(f"{', '.join(given)} set but {protocol} does not use TLS "
                             "(SSL or SASL_SSL does)")
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ValueError(f"{VAR}SSL_KEYFILE is set without {VAR}SSL_CERTFILE")
        if self.ssl_key_password is not None and self.ssl_certfile is None:
            raise ValueError(f"{VAR}SSL_KEY_PASSWORD is set without {VAR}SSL_CERTFILE")
        for name in FILES:
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{VAR}{name.upper()}: no such file: {path}")
        return self

    def warnings(self) -> list[str]:
        """What a worker logs at start: settings that work but expose something."""
        out = []
        if self.security_protocol == "SASL_PLAINTEXT" and self.sasl_mechanism == "PLAIN":
            out.append(f"{VAR}SASL_MECHANISM=PLAIN over SASL_PLAINTEXT sends the Kafka password "
                       "in clear on the wire: use SASL_SSL, or SCRAM")
        if self.tls and not self.ssl_check_hostname:
            out.append(f"{VAR}SSL_CHECK_HOSTNAME=false: any certificate of the trusted CAs "
                       "is accepted for the broker, whatever host it names")
        return out


def client_kwargs(security: KafkaSecurity) -> dict[str, Any]:
    """The security arguments of an aiokafka producer, consumer or admin client."""
    kwargs: dict[str, Any] = {"security_protocol": security.security_protocol}
    if security.sasl:
        assert security.sasl_password is not None  # the validator saw to it
        kwargs |= {
            "sasl_mechanism": security.sasl_mechanism,
            "sasl_plain_username": security.sasl_username,
            "sasl_plain_password": security.sasl_password.get_secret_value(),
        }
    if security.tls:
        kwargs["ssl_context"] = ssl_context(security)
    return kwargs


def faust_credentials(security: KafkaSecurity) -> Any:
    """Faust's `broker_credentials`: None, faust.SSLCredentials or faust.SASLCredentials.

    Faust turns them into the same aiokafka arguments as `client_kwargs` for its consumer, its
    producer and the admin requests it sends through them (faust.transport.drivers.aiokafka:
    credentials_to_aiokafka_auth); the broker URL stays kafka://.
    """
    import faust

    if security.sasl:
        assert security.sasl_password is not None
        return faust.SASLCredentials(
            username=security.sasl_username,
            password=security.sasl_password.get_secret_value(),
            mechanism=security.sasl_mechanism,
            ssl_context=ssl_context(security) if security.tls else None,
        )
    if security.tls:
        return faust.SSLCredentials(ssl_context(security))
    return None


@functools.lru_cache(maxsize=4)
def ssl_context(security: KafkaSecurity) -> ssl.SSLContext:
    """One context per settings, shared by every client: verifies the broker against the CA
    file (or the system's CAs), presents the client certificate when one is set."""
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH,
            cafile=str(security.ssl_cafile) if security.ssl_cafile else None)
    except (ssl.SSLError, OSError):
        raise ConfigurationError(f"{VAR}SSL_CAFILE holds no readable PEM certificate") from None
    context.check_hostname = security.ssl_check_hostname
    if security.ssl_certfile is not None:
        password = security.ssl_key_password
        try:
            context.load_cert_chain(
                str(security.ssl_certfile),
                str(security.ssl_keyfile) if security.ssl_keyfile else None,
                # "" rather than None: OpenSSL would prompt on the terminal for an encrypted key.
                password.get_secret_value() if password else "",
            )
        except (ssl.SSLError, OSError):
            raise ConfigurationError(
                f"{VAR}SSL_CERTFILE and {VAR}SSL_KEYFILE do not make a client certificate and "
                f"its key (wrong file, a key that does not match, or a wrong or missing "
                f"{VAR}SSL_KEY_PASSWORD)") from None
    return context


PLAINTEXT = KafkaSecurity()  # the embedded broker's, and the default
