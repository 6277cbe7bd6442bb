"""The kit's certificate authority: a TLS chain clients accept, SuperNode keys Flower loads."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from flwr.cli.supernode.register import try_load_public_key
from typer.testing import CliRunner

from consortium.deployment.certs import generate_certificates, generate_node_key
from consortium.errors import ConfigError


def _tls_handshake(certs_dir: Path, ca_file: Path, server_name: str) -> None:
    """Serve one TLS handshake with the SuperLink cert; connect verifying against ``ca_file``."""
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(certs_dir / "server.pem", certs_dir / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=str(ca_file))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with client_ctx.wrap_socket(raw, server_hostname=server_name):
                pass
    finally:
        thread.join(timeout=5)
        listener.close()


def test_certificates_make_a_chain_that_tls_clients_accept(tmp_path: Path) -> None:
    # Prepare
    certs = generate_certificates(tmp_path / "certs")
    other = generate_certificates(tmp_path / "other-ca")
    # Execute
    ca = x509.load_pem_x509_certificate(certs.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(certs.server_cert.read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    # Assert
    server.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]
    for key in (certs.ca_key, certs.server_key):
        assert key.stat().st_mode & 0o777 == 0o600
    _tls_handshake(tmp_path / "certs", certs.ca_cert, "127.0.0.1")
    _tls_handshake(tmp_path / "certs", certs.ca_cert, "localhost")
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_handshake(tmp_path / "certs", other.ca_cert, "127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_handshake(tmp_path / "certs", certs.ca_cert, "link.example")


def test_certificates_refuse_to_overwrite_and_empty_hosts(tmp_path: Path) -> None:
    # Prepare
    generate_certificates(tmp_path)
    # Execute / Assert
    with pytest.raises(ConfigError, match="already exists"):
        generate_certificates(tmp_path)
    with pytest.raises(ConfigError, match="hosts"):
        generate_certificates(tmp_path / "x", hosts=[])


def test_node_key_is_what_flower_loads(tmp_path: Path) -> None:
    # Prepare / Execute
    keys = generate_node_key(tmp_path / "node" / "supernode.key")
    # Assert: the SuperNode loads the private key as flower-supernode does, the CLI the public
    private = load_ssh_private_key(keys.private_key.read_bytes(), None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert private.curve.name == "secp384r1"
    pem = try_load_public_key(keys.public_key)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert keys.private_key.stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        generate_node_key(keys.private_key)


def test_cli_certs_and_node_key(tmp_path: Path) -> None:
    import typer

    from consortium.cli.federation import register

    # Prepare
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    # Execute
    certs = runner.invoke(
        app, ["federation", "certs", "--out", str(tmp_path / "c"), "--host", "10.1.2.3"]
    )
    key = runner.invoke(app, ["federation", "node-key", "--out", str(tmp_path / "k" / "n.key")])
    again = runner.invoke(app, ["federation", "node-key", "--out", str(tmp_path / "k" / "n.key")])
    empty = runner.invoke(
        app, ["federation", "up", "--members", str(tmp_path / "k"), "--out", str(tmp_path / "o")]
    )
    # Assert
    assert certs.exit_code == 0, certs.output
    assert "10.1.2.3" in certs.output
    server = x509.load_pem_x509_certificate((tmp_path / "c" / "server.pem").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]
    assert key.exit_code == 0, key.output
    assert (tmp_path / "k" / "n.key.pub").exists()
    assert again.exit_code == 2
    assert "already exists" in again.output
    assert empty.exit_code == 2
    assert "no member" in empty.output
