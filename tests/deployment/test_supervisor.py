"""Flower's deployment runtime for real: SuperLink + SuperNodes as processes, TLS, node auth.

The slow test starts ``flower-superlink`` (TLS, ``--enable-supernode-auth``) and five
``flower-supernode`` processes on loopback: four carriers admitted on the coordinator's ledger,
whose SuperNode keys are registered under their member ids, and one node whose key never was.
The board then removes a carrier and the removal hook unregisters its key
(:func:`~consortium.deployment.registration.unregister_supernode`). It runs the kit's own app
with the coordinator's run config (``ledger-db``, ``coordinator-key``) until its first round is
on the coordinator's database, and checks that exactly the three remaining members took part:
in the run's SecAgg+ secure sum of statistics (each member's keys bound to its member key; a
member refuses to share otherwise) and in the recorded round, whose mints name the registered
member ids within the board's ε cap; that ``ledger verify`` passes; and that nothing is left
running. That a SecAgg+ round aggregates what plain FedAvg aggregates is checked on the
one-machine grid (``tests/federation/test_secagg.py::test_secure_round_equals_plain_weighted_
fedavg``, ``tests/federation/test_secure_sum.py``): the deployment runtime runs the same code.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.cli.main import app as cli
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.deployment import unregister_supernode, write_kit_app
from consortium.deployment.certs import generate_certificates
from consortium.deployment.nodes import MemberNode, member_nodes
from consortium.deployment.supervisor import LocalDeployment
from consortium.errors import DeploymentError
from consortium.federation.member.node import PLAIN_ALLOWED_KEY
from consortium.identity.keys import generate_key_file, load_signer
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.kinds import EntryKind
from consortium.ledger.store import load_entries
from consortium.membership import admit_member, remove_member, request_exit
from consortium.policy.store import current_policy
from tests.deployment.deploy_fixtures import make_consortium


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@dataclass(frozen=True)
class Coordinator:
    """The coordinator's database (carriers admitted with their member keys) and key."""

    url: str
    key: Path
    members_keys: Path

    def factory(self) -> sessionmaker[Session]:
        return make_session_factory(make_engine(self.url))

    def wait_for_round(self, *, timeout_s: float) -> bool:
        """Poll the ledger until a round is recorded (completed or failed)."""
        factory, deadline = self.factory(), time.monotonic() + timeout_s
        kinds = (EntryKind.ROUND_COMPLETED, EntryKind.ROUND_FAILED)
        while time.monotonic() < deadline:
            with factory.begin() as s:
                if any(e.kind in kinds for e in load_entries(s)):
                    return True
            time.sleep(2.0)
        return False


def _coordinator(tmp: Path, carriers: list[str]) -> Coordinator:
    url = f"sqlite:///{tmp / 'coordinator.db'}"
    engine = make_engine(url)
    create_schema(engine)
    coordinator = generate_key_file(tmp / "coordinator.key")
    with make_session_factory(engine).begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for member in carriers:
            key = generate_key_file(tmp / "member-keys" / f"{member}.key")
            admit_member(s, member=member, public_key=key.public_key, signer=coordinator)
    engine.dispose()
    return Coordinator(url, tmp / "coordinator.key", tmp / "member-keys")


@pytest.mark.slow
@pytest.mark.timeout(1200)  # minutes on a loaded 2-core box (about 4 at load 7)
def test_deployment_admits_registered_members_and_records_on_the_coordinators_database(
    tmp_path: Path,
) -> None:
    # Prepare: four carriers admitted on the coordinator's ledger, each with its member key
    # (SecAgg+ key binding on) and its SuperNode key registered under its member id; one node
    # whose key was never registered
    consortium = make_consortium(tmp_path / "data")
    carriers = [s.member for s in member_nodes(consortium, model="eta", epsilon=8.0)]
    assert len(carriers) == 4
    board = _coordinator(tmp_path, carriers)
    specs = member_nodes(consortium, model="eta", epsilon=8.0, state_dir=tmp_path / "state",
                         member_keys=board.members_keys)  # fmt: skip
    removed, stay = carriers[-1], carriers[:3]
    members = [MemberNode(s.member, {**s.node_config, PLAIN_ALLOWED_KEY: True}) for s in specs]
    members.append(MemberNode("rogue", {"member-id": "rogue"}, register=False))
    out = tmp_path / "results"
    with LocalDeployment(tmp_path / "dep", members=members) as dep:
        registered = {m: dep.node_id(m) for m in carriers}
        # Assert: TLS on the shared port, four nodes online, the unregistered one refused
        assert "Uvicorn running on https://" in dep.log("superlink")
        assert sorted(dep.nodes().values()) == ["online"] * 4
        assert dep.node_exit_code("rogue", timeout_s=60) == 1
        assert "Failed to activate SuperNode" in dep.log("rogue")
        assert "No SuperNode found with the given public key" in dep.log("superlink")

        # Execute: a carrier leaves and the coordinator removes it; the removal hook
        # unregisters its SuperNode key, and the SuperLink refuses the node from then on
        with board.factory().begin() as s:
            leaver = load_signer(board.members_keys / f"{removed}.key")
            request_exit(s, member=removed, signer=leaver)
            remove_member(s, member=removed, signer=load_signer(board.key))
        assert unregister_supernode(dep.flwr_home, member=removed) == registered[removed]
        assert dep.nodes()[registered[removed]] == "unregistered"
        assert dep.node_exit_code(removed, timeout_s=60) is not None
        dep.start_node(removed)
        assert dep.node_exit_code(removed, timeout_s=60) == 1
        assert "Failed to activate SuperNode" in dep.log(removed)

        # Execute: the kit's own app, configured by the coordinator's run config, until its
        # first round is on the coordinator's database (then stop: calibration is not the point).
        # Its statistics are a SecAgg+ secure sum in which every member only shares secrets
        # with keys signed by a listed member (it refuses the sum otherwise: key-unbound); plain
        # rounds keep the test short: recording does not depend on the aggregation
        run_config = {"model": "eta", "rounds": 1, "local-epochs": 1, "secure": False,
                      "out-dir": str(out / "kit"), "ledger-db": board.url,
                      "coordinator-key": str(board.key)}  # fmt: skip
        dep.run(write_kit_app(tmp_path / "app"), run_config=run_config)
        recorded = board.wait_for_round(timeout_s=600)
        pids = dep.pids()
        log = "" if recorded else dep.log("superlink")[-6000:]
        node_logs = {m: dep.log(m) for m in carriers}

    # Assert: the three remaining members completed the SecAgg+ sum (stage 1, sharing keys,
    # runs only once every forwarded key is bound to a listed member; stage 3 is the last),
    # the removed one never took part
    trusted = json.loads(Path(str(specs[0].node_config["member-keys"])).read_text())
    assert sorted(trusted) == sorted(carriers)  # each signed by its own member key
    for member in stay:
        for stage in ("stage 1 completes", "stage 3 completes"):
            assert f"Node {registered[member]}: {stage}" in node_logs[member], member
        assert "refuses a SecAgg+ stage" not in node_logs[member]
    assert "starting stage" not in node_logs[removed]
    # Assert: the kit's run recorded its round and minted its points on the coordinator's
    # database, naming the members the coordinator registered, and the ledger verifies
    assert recorded, log
    with board.factory().begin() as s:
        entries = [e for e in load_entries(s) if e.kind == EntryKind.ROUND_COMPLETED]
        minted = [e.payload_object() for e in load_entries(s)
                  if e.kind == EntryKind.POINTS_MINTED]  # fmt: skip
        rounds = [e.payload_object() for e in entries]
        cap = current_policy(s).max_epsilon_per_round
    assert [(r["model"], r["round"], r["members"]) for r in rounds] == [("eta", 1, sorted(stay))]
    assert all(0 < p["epsilon_spent"] <= cap for p in rounds[0]["participants"])  # board's cap
    assert minted, "no points minted"
    text = json.dumps(minted)
    assert all(f"member:{m}" in text for m in stay)
    assert removed not in text
    assert "node " not in text
    verified = CliRunner().invoke(cli, ["ledger", "verify", "--db", board.url])
    assert verified.exit_code == 0, verified.output
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
