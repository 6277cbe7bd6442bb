"""Flower's deployment runtime for real: SuperLink + SuperNodes as processes, TLS, node auth.

The slow test starts ``flower-superlink`` (TLS, ``--enable-supernode-auth``) and five
``flower-supernode`` processes on loopback: four members whose keys are registered and one
whose key never was. It then unregisters one member (a removed member), runs the toy
federation (SecAgg+, one round) and checks that exactly the three remaining members took part,
that the aggregate equals the one-machine runner's, and that nothing is left running.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import tomllib
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from flwr.cli.supernode.register import try_load_public_key
from typer.testing import CliRunner

from consortium.errors import ConfigError
from consortium.federation.certs import generate_certificates, generate_node_key
from consortium.federation.deployment import (
    DeploymentError,
    LocalDeployment,
    MemberNode,
    member_nodes,
    toml_table,
)
from consortium.federation.local_grid import run_local
from consortium.federation.toy import make_toy_client_app, make_toy_server_app
from tests.federation.deploy_fixtures import TOY_APP, make_consortium


@pytest.fixture(scope="module")
def consortium_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_consortium(tmp_path_factory.mktemp("consortium"))


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


def test_toml_table_round_trips_through_tomllib() -> None:
    # Prepare
    values = {"member-id": 'm-"1"', "data-path": "/data/a b\\c", "rounds": 2, "eps": 0.5,
              "secure": False}  # fmt: skip
    # Execute
    parsed = tomllib.loads(toml_table(values))
    # Assert
    assert parsed == values
    with pytest.raises(ConfigError, match="finite"):
        toml_table({"epsilon": float("inf")})
    with pytest.raises(ConfigError, match="letters"):
        toml_table({"a b": 1})


def test_member_nodes_come_from_the_members_folder(consortium_dir: Path, tmp_path: Path) -> None:
    # Prepare / Execute
    nodes = member_nodes(consortium_dir, model="eta", state_dir=tmp_path, limit=3, epsilon=4.0)
    # Assert: the carriers with a legs file, sorted by id, each with its own state folder
    assert [n.member for n in nodes] == ["aurora-air", "meridian-line", "rhine-road"]
    first = nodes[0].node_config
    assert first["data-path"] == str((consortium_dir / "members" / "aurora-air").resolve())
    assert first["home"] == str((tmp_path / "aurora-air").resolve())
    assert first["epsilon"] == 4.0
    with pytest.raises(ConfigError, match="no member"):
        member_nodes(tmp_path, model="eta", state_dir=tmp_path)


def test_member_node_refuses_an_invalid_member_id() -> None:
    with pytest.raises(ConfigError, match="member id"):
        MemberNode("Not A Token")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_deployment_admits_registered_supernodes_only(tmp_path: Path) -> None:
    # Prepare: four admitted members and one node whose key was never registered
    members = [MemberNode(f"m{i}", {"member-id": f"m{i}"}) for i in range(4)]
    members.append(MemberNode("rogue", {"member-id": "rogue"}, register=False))
    out = tmp_path / "results"
    with LocalDeployment(tmp_path / "dep", members=members) as dep:
        registered = {m: dep.node_id(m) for m in ("m0", "m1", "m2", "m3")}
        # Assert: TLS on the shared port, four nodes online, the unregistered one refused
        assert "Uvicorn running on https://" in dep.log("superlink")
        assert sorted(dep.nodes().values()) == ["online"] * 4
        assert dep.node_exit_code("rogue", timeout_s=60) == 1
        assert "Failed to activate SuperNode" in dep.log("rogue")
        assert "No SuperNode found with the given public key" in dep.log("superlink")

        # Execute: remove member m3 (its key is unregistered), then try to bring it back
        dep.unregister("m3")
        assert dep.nodes()[registered["m3"]] == "unregistered"
        assert dep.node_exit_code("m3", timeout_s=60) is not None
        dep.start_node("m3")
        assert dep.node_exit_code("m3", timeout_s=60) == 1
        assert "Failed to activate SuperNode" in dep.log("m3")

        # Execute: a SecAgg+ round over whoever is admitted
        run_id = dep.run(TOY_APP, run_config={"rounds": 1, "out-dir": str(out)})
        result = dep.wait(run_id, timeout_s=240)
        pids = dep.pids()

    # Assert: the run used exactly the three remaining members
    assert result.ok, result.log
    assert "Secure aggregation completed" in result.log
    outcome = json.loads((out / f"outcome-{run_id}.json").read_text())
    assert outcome["status"] == "ok"
    assert outcome["members"] == 3
    assert sorted(outcome["nodes"]) == sorted(str(registered[m]) for m in ("m0", "m1", "m2"))
    # ... and aggregated what the one-machine runner aggregates for the same members (plain
    # FedAvg there; SecAgg+ quantisation error is below 1e-4 at these settings)
    local = run_local(
        make_toy_server_app(),
        make_toy_client_app(secure=False),
        nodes={m: {"member-id": m} for m in ("m0", "m1", "m2")},
        run_config={"secure": False, "rounds": 1},
    )
    expected = local.context.state.array_records["toy.global"].to_numpy_ndarrays()
    for got, want in zip(outcome["global"], expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), want.ravel(), atol=1e-4)
    # ... and stopping left no process behind
    assert pids
    assert [p for p in pids if _alive(p)] == []


def test_deployment_reports_a_superlink_that_cannot_start(tmp_path: Path) -> None:
    # Prepare: certificates whose key does not belong to the certificate
    certs = generate_certificates(tmp_path / "a")
    other = generate_certificates(tmp_path / "b")
    os.chmod(certs.server_key, 0o600)
    certs.server_key.write_bytes(other.server_key.read_bytes())
    dep = LocalDeployment(tmp_path / "dep", members=[], certs=certs)
    # Execute / Assert
    with pytest.raises(DeploymentError) as err:
        dep.start()
    assert err.value.subject == "superlink"
    assert err.value.code in ("start-failed", "not-ready")
    assert dep.pids() == []


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


def test_kit_app_is_a_manifest_flower_builds_into_a_fab(tmp_path: Path) -> None:
    import typer
    from flwr.cli.build import build_fab_from_disk

    from consortium.cli.federation import register
    from consortium.federation.server_app import FederationConfig

    # Prepare
    app = typer.Typer()
    register(app)
    # Execute
    result = CliRunner().invoke(app, ["federation", "app", "--out", str(tmp_path / "app")])
    manifest = tomllib.loads((tmp_path / "app" / "pyproject.toml").read_text())
    fab = build_fab_from_disk(tmp_path / "app")
    # Assert: the components are the installed kit's apps; the defaults are the ServerApp's
    assert result.exit_code == 0, result.output
    flwr_app = manifest["tool"]["flwr"]["app"]
    assert flwr_app["components"] == {
        "serverapp": "consortium.federation.server_app:app",
        "clientapp": "consortium.federation.client_app:app",
    }
    config = FederationConfig.from_run_config(flwr_app["config"])
    assert config == FederationConfig(out_dir=config.out_dir)
    assert len(fab) < 10_000  # the FAB carries the manifest only, no code
