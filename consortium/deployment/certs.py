"""Certificates and SuperNode keys for Flower's deployment runtime, made by the kit.

Two kinds of key material, never mixed up:

*TLS* (:func:`generate_certificates`). A consortium CA (EC P-384, self-signed, ``CA:TRUE``,
path length 0) signs one server certificate for the coordinator's SuperLink, whose subject
alternative names are the hosts members dial (IP addresses and/or DNS names). The SuperLink
gets ``--ssl-ca-certfile ca.pem --ssl-certfile server.pem --ssl-keyfile server.key``; every
member and the ``flwr`` CLI get only ``ca.pem`` (SuperNode ``--root-certificates``,
``root-certificates`` in ``$FLWR_HOME/config.toml``). The CA's private key stays with the
coordinator, next to the certificates, so that it can re-issue the server certificate.

*SuperNode authentication* (:func:`generate_node_key`). Each member makes one EC key pair on
its own machine: the private key in OpenSSH format (what ``flower-supernode
--auth-supernode-private-key`` loads with ``load_ssh_private_key`` and requires to be an
elliptic-curve key) and the public key as an OpenSSH line (what ``flwr supernode register``
loads with ``load_ssh_public_key`` and requires to be on a NIST curve). Only the public key
is sent to the coordinator, which registers it; a node whose key is not registered is
refused by a SuperLink started with ``--enable-supernode-auth``.

Private keys are written with mode 0600, created exclusively (never overwritten).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> tmp = Path(tempfile.mkdtemp())
>>> certs = generate_certificates(tmp / "certs")
>>> sorted(p.name for p in (certs.ca_cert, certs.server_cert, certs.server_key))
['ca.pem', 'server.key', 'server.pem']
>>> key = generate_node_key(tmp / "node" / "supernode.key")
>>> key.public_key.read_text().startswith("ecdsa-sha2-nistp384 ")
True
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from consortium.errors import ConfigError

__all__ = [
    "DEFAULT_HOSTS",
    "CertPaths",
    "NodeKeyPaths",
    "generate_certificates",
    "generate_node_key",
    "node_public_key",
]

logger = logging.getLogger(__name__)

DEFAULT_HOSTS: tuple[str, ...] = ("127.0.0.1", "::1", "localhost")
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"
SERVER_CERT_FILE = "server.pem"
SERVER_KEY_FILE = "server.key"
_CURVE = ec.SECP384R1


@dataclass(frozen=True)
class CertPaths:
    """Where :func:`generate_certificates` wrote the TLS material.

    Attributes
    ----------
    ca_cert : Path
        The consortium CA certificate (PEM); the only file members receive.
    ca_key : Path
        The CA private key (PEM, 0600); stays with the coordinator.
    server_cert : Path
        The SuperLink's certificate (PEM), signed by the CA.
    server_key : Path
        The SuperLink's private key (PEM, 0600).
    hosts : tuple of str
        The names and addresses the server certificate is valid for.
    """

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    hosts: tuple[str, ...]

    def superlink_args(self) -> list[str]:
        """Return the ``flower-superlink`` TLS flags for these files."""
        return [
            "--ssl-ca-certfile",
            str(self.ca_cert),
            "--ssl-certfile",
            str(self.server_cert),
            "--ssl-keyfile",
            str(self.server_key),
        ]


@dataclass(frozen=True)
class NodeKeyPaths:
    """A member's SuperNode authentication key pair.

    Attributes
    ----------
    private_key : Path
        OpenSSH-format EC private key (0600); passed to ``flower-supernode
        --auth-supernode-private-key``; never leaves the member.
    public_key : Path
        ``<private_key>.pub``, one OpenSSH line; the coordinator registers it with
        ``flwr supernode register``.
    """

    private_key: Path
    public_key: Path


def _write_exclusive(path: Path, data: bytes, *, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise ConfigError(str(path), "already exists; refusing to overwrite key material") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, mode)


def _san_entries(hosts: Sequence[str]) -> list[x509.GeneralName]:
    if not hosts:
        raise ConfigError("hosts", "give at least one host name or IP address")
    names: list[x509.GeneralName] = []
    for host in hosts:
        host = host.strip().strip("[]")
        if not host:
            raise ConfigError("hosts", "empty host name")
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _key_usage(*, authority: bool) -> x509.KeyUsage:
    """Key usage of the CA (signs certificates) or of the server (ECDHE key agreement)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not authority,
        key_cert_sign=authority,
        crl_sign=authority,
        encipher_only=False,
        decipher_only=False,
    )


def generate_certificates(
    out_dir: Path,
    *,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    valid_days: int = 365,
    organisation: str = "Logistics Consortium",
) -> CertPaths:
    """Create a consortium CA and a SuperLink server certificate signed by it.

    Parameters
    ----------
    out_dir : Path
        Directory to write ``ca.pem``, ``ca.key``, ``server.pem`` and ``server.key`` to;
        none of them may exist yet.
    hosts : Sequence[str]
        Every IP address or DNS name members use to reach the SuperLink (the certificate's
        subject alternative names). The default covers loopback only.
    valid_days : int, default 365
        Validity of both certificates.
    organisation : str
        ``O=`` of both subjects.

    Returns
    -------
    CertPaths
        The four files.

    Raises
    ------
    ConfigError
        If ``hosts`` is empty, ``valid_days`` is not positive or a file already exists.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> paths = generate_certificates(Path(tempfile.mkdtemp()), hosts=["10.0.0.5", "link.example"])
    >>> paths.hosts
    ('10.0.0.5', 'link.example')
    """
    if valid_days < 1:
        raise ConfigError("valid_days", f"must be at least 1, got {valid_days}")
    sans = _san_entries(hosts)
    out_dir = Path(out_dir)
    paths = CertPaths(
        ca_cert=out_dir / CA_FILE,
        ca_key=out_dir / CA_KEY_FILE,
        server_cert=out_dir / SERVER_CERT_FILE,
        server_key=out_dir / SERVER_KEY_FILE,
        hosts=tuple(h.strip().strip("[]") for h in hosts),
    )
    for path in (paths.ca_cert, paths.ca_key, paths.server_cert, paths.server_key):
        if path.exists():
            raise ConfigError(str(path), "already exists; refusing to overwrite key material")

    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(minutes=5), now + dt.timedelta(days=valid_days)
    ca_key = ec.generate_private_key(_CURVE())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{organisation} CA"),
        ]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(authority=True),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA384())
    )

    server_key = ec.generate_private_key(_CURVE())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                    x509.NameAttribute(NameOID.COMMON_NAME, paths.hosts[0]),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(authority=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA384())
    )

    _write_exclusive(paths.ca_key, _pem_key(ca_key), mode=0o600)
    _write_exclusive(paths.server_key, _pem_key(server_key), mode=0o600)
    _write_exclusive(paths.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    _write_exclusive(
        paths.server_cert, server_cert.public_bytes(serialization.Encoding.PEM), mode=0o644
    )
    logger.info("wrote consortium CA and SuperLink certificate for %s to %s", paths.hosts, out_dir)
    return paths


def generate_node_key(path: Path) -> NodeKeyPaths:
    """Create a member's SuperNode authentication key pair (EC P-384, OpenSSH format).

    Parameters
    ----------
    path : Path
        The private key file to create (0600); the public key goes to ``<path>.pub``.
        Neither may exist.

    Returns
    -------
    NodeKeyPaths
        Both files.

    Raises
    ------
    ConfigError
        If either file already exists.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> keys = generate_node_key(Path(tempfile.mkdtemp()) / "supernode.key")
    >>> oct(keys.private_key.stat().st_mode & 0o777)
    '0o600'
    """
    path = Path(path)
    pub = path.with_name(path.name + ".pub")
    if pub.exists():
        raise ConfigError(str(pub), "already exists; refusing to overwrite key material")
    key = ec.generate_private_key(_CURVE())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    _write_exclusive(path, private, mode=0o600)
    _write_exclusive(pub, public + b"\n", mode=0o644)
    logger.info("wrote SuperNode key pair %s (+ .pub)", path)
    return NodeKeyPaths(private_key=path, public_key=pub)


def node_public_key(keys: NodeKeyPaths) -> ec.EllipticCurvePublicKey:
    """Load and check a SuperNode public key as ``flwr supernode register`` will.

    Raises
    ------
    ConfigError
        If the file is not an OpenSSH EC public key on a NIST curve.
    """
    try:
        key = serialization.load_ssh_public_key(keys.public_key.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(str(keys.public_key), f"not an OpenSSH public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError(str(keys.public_key), "SuperNode keys must be elliptic-curve keys")
    if key.curve.name not in {"secp256r1", "secp384r1", "secp521r1"}:
        raise ConfigError(str(keys.public_key), f"curve {key.curve.name} is not accepted")
    return key
