"""The key material a test control plane needs, made with ``cryptography`` (no openssl shell-outs).

A throw-away CA signs the API server's serving certificate (127.0.0.1, localhost and the
``kubernetes`` Service names) and an admin client certificate in the group ``system:masters``
(cluster admin under RBAC); a separate RSA key pair signs ServiceAccount tokens. Everything is
written as PEM files into the control plane's own temporary folder.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=2)
_SERVER_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
_SERVER_IPS = ("127.0.0.1", "10.0.0.1")  # loopback, and the `kubernetes` Service's cluster IP


@dataclass(frozen=True)
class CertFiles:
    """Paths of the PEM files, named after the kube-apiserver flags that take them."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    admin_cert: Path
    admin_key: Path
    service_account_public: Path
    service_account_private: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organization: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    subject: x509.Name,
    usage: x509.ObjectIdentifier,
    alt_names: list[x509.GeneralName] | None = None,
) -> tuple[bytes, bytes]:
    ca_cert, ca_key = ca
    key = _key()
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def write_cert_files(folder: Path) -> CertFiles:
    """Make a CA, the serving and admin certificates and the ServiceAccount keys in ``folder``."""
    ca_key = _key()
    ca_name = _name("calsync-test-ca")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in _SERVER_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in _SERVER_IPS]
    server = _leaf((ca_cert, ca_key), _name("kube-apiserver"), ExtendedKeyUsageOID.SERVER_AUTH, alt_names)
    admin = _leaf(
        (ca_cert, ca_key), _name("calsync-test-admin", "system:masters"), ExtendedKeyUsageOID.CLIENT_AUTH
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sa_public = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files = CertFiles(
        ca_cert=folder / "ca.crt",
        server_cert=folder / "apiserver.crt",
        server_key=folder / "apiserver.key",
        admin_cert=folder / "admin.crt",
        admin_key=folder / "admin.key",
        service_account_public=folder / "sa.pub",
        service_account_private=folder / "sa.key",
    )
    contents = {
        files.ca_cert: ca_cert.public_bytes(serialization.Encoding.PEM),
        files.server_cert: server[0],
        files.server_key: server[1],
        files.admin_cert: admin[0],
        files.admin_key: admin[1],
        files.service_account_public: sa_public,
        files.service_account_private: _key_pem(sa_key),
    }
    for path, data in contents.items():
        path.write_bytes(data)
        path.chmod(0o600)
    return files
