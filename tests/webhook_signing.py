"""Signing webhooks as the providers do, with keys made in the test (unit and e2e tests)."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from agents.engagement.ingress import mailgun, sendgrid, ses

FIXTURES = Path(__file__).parent / "unit" / "engagement" / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def sendgrid_keys() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A P-256 key pair; the public half as SendGrid shows it (base64 DER)."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(der).decode()


def sendgrid_headers(private: ec.EllipticCurvePrivateKey, body: bytes, at: float
                     ) -> dict[str, str]:
    stamp = str(int(at))
    signature = private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {sendgrid.SIGNATURE: base64.b64encode(signature).decode(), sendgrid.TIMESTAMP: stamp}


def mailgun_signed(key: bytes, doc: dict[str, Any], at: float,
                   token: str | None = None) -> dict[str, Any]:
    token = token or secrets.token_hex(25)
    stamp = str(int(at))
    return {**doc, "signature": {"timestamp": stamp, "token": token,
                                 "signature": mailgun.signature_of(key, stamp, token)}}


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def sns_certificate(host: str, issuer_key: rsa.RSAPrivateKey | None = None,
                    issuer: str | None = None, days: int = 30
                    ) -> tuple[rsa.RSAPrivateKey, bytes]:
    """A key and its certificate for ``host`` (self-signed unless an issuer is given)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(host))
               .issuer_name(_name(issuer or host)).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=1))
               .not_valid_after(now + timedelta(days=days))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False))
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                        critical=True)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return key, cert.public_bytes(serialization.Encoding.PEM)


def sns_signed(key: rsa.RSAPrivateKey, doc: dict[str, Any], version: str = "1"
               ) -> dict[str, Any]:
    doc = {**doc, "SignatureVersion": version}
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(ses.string_to_sign(doc), padding.PKCS1v15(), digest)
    return {**doc, "Signature": base64.b64encode(signature).decode()}


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
