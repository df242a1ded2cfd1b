"""A throwaway PKI made in the test: a CA, a server certificate for localhost / 127.0.0.1, a
client certificate, and the client key also encrypted with a password."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_PASSWORD = "key-pass-Zq81"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_key_encrypted: Path
    other_ca: Path  # a CA that signed nothing here: a client trusting it must refuse the server


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, cn: str,
          usage: x509.ObjectIdentifier, sans: list[x509.GeneralName] | None = None,
          ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(ca.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def make_pki(where: Path, server_names: tuple[str, ...] = ("localhost",)) -> Pki:
    def pem(cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(key: ec.EllipticCurvePrivateKey, password: str | None = None) -> bytes:
        crypt: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password
            else serialization.NoEncryption())
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8, crypt)

    ca_key, ca = _ca("hub test CA")
    _, other = _ca("some other CA")
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    server_key, server = _leaf(ca_key, ca, server_names[0], ExtendedKeyUsageOID.SERVER_AUTH, sans)
    client_key, client = _leaf(ca_key, ca, "outreach-hub", ExtendedKeyUsageOID.CLIENT_AUTH)
    files = {
        "ca.pem": pem(ca), "server.pem": pem(server), "server.key": key_pem(server_key),
        "client.pem": pem(client), "client.key": key_pem(client_key),
        "client-encrypted.key": key_pem(client_key, KEY_PASSWORD), "other-ca.pem": pem(other),
    }
    for name, data in files.items():
        (where / name).write_bytes(data)
    return Pki(ca=where / "ca.pem", server_cert=where / "server.pem",
               server_key=where / "server.key", client_cert=where / "client.pem",
               client_key=where / "client.key",
               client_key_encrypted=where / "client-encrypted.key",
               other_ca=where / "other-ca.pem")
