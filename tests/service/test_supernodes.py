"""SuperNode keys follow the roster through the service (issue 15): admit and removal execute.

A real ``flower-superlink`` (TLS, ``--enable-supernode-auth``) runs on loopback for the module,
started by the kit's :class:`~consortium.deployment.supervisor.LocalDeployment` with no
SuperNode (registering a key needs none). The coordinator's service runs on loopback too
(uvicorn, in a thread of this process, on a clock the test moves) with
``create_app(supernodes=SuperNodeRegistry.at(flwr_home))``, as ``consortium coordinator serve
--flwr-home DIR`` does, ``flwr_home`` being the coordinator's ``FLWR_HOME`` whose
``config.toml`` names that SuperLink. What is registered is read from the SuperLink itself
(``flwr supernode ls``), not from the kit's own file.

A company joins with a SuperNode key made on its machine; nothing reaches the SuperLink until
the admit proposal its join request opened executes, then its key is registered (the SuperLink
refuses the same key under another name) and, once a removal executes, unregistered. A second
company's own proposal lapses unvoted; a member re-opens it (``propose_admission``, as
``consortium members propose-admit`` does) and executes it while the SuperLink is unreachable:
the committed admission stands and the service logs the failed sync, as it does for any refusal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from consortium.client.onboarding import (
    admit_proposal_id,
    join_requests,
    propose_admission,
    send_join,
)
from consortium.client.remote import RemoteCoordinator
from consortium.deployment import FlwrCli, LocalDeployment, SuperNodeRegistry, generate_node_key
from consortium.deployment.processes import address, free_port
from consortium.errors import DeploymentError
from consortium.governance.clock import ManualClock
from consortium.identity.keys import load_signer
from consortium.ledger.signing import Signer
from consortium.ledger.store import publish_checkpoint
from consortium.membership import admit_member
from consortium.points.accounts import member_account
from consortium.points.store import mint_contributions
from consortium.service.app import create_app
from consortium.service.setup import init_coordinator
from consortium.service.state import ServiceSettings, key_path, open_stores
from tests.service.conftest import MEMBERS, POLICY


@dataclass
class Running:
    remote: RemoteCoordinator
    clock: ManualClock
    superlink: LocalDeployment
    registry: SuperNodeRegistry
    founders: dict[str, Signer]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A started consortium (three founders with points) served on loopback, and its SuperLink."""
    root = tmp_path_factory.mktemp("supernodes")
    url = f"sqlite:///{root / 'coordinator.db'}"
    genesis = init_coordinator(database_url=url, key_dir=root / "keys", policy=POLICY)
    coordinator = load_signer(key_path(root / "keys"))
    founders = {name: Signer.generate() for name in MEMBERS}
    with open_stores(url).begin() as session:  # the coordinator's own founding steps
        for name, signer in founders.items():
            admit_member(session, member=name, public_key=signer.public_key, signer=coordinator)
        mint_contributions(session, awards={member_account(m): n for m, n in MEMBERS.items()},
                           refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        publish_checkpoint(session, signer=coordinator)
    with LocalDeployment(root / "deployment", members=[]) as superlink:
        registry, clock = SuperNodeRegistry.at(superlink.flwr_home), ManualClock()
        app = create_app(ServiceSettings(database_url=url, key_dir=root / "keys"), clock=clock,
                         supernodes=registry)  # fmt: skip
        port = free_port("127.0.0.1")
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", ws="none"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the service stopped at start"
            assert time.monotonic() < deadline, "the service did not start in time"
            time.sleep(0.01)
        try:
            with RemoteCoordinator(f"http://127.0.0.1:{port}", pin=genesis.key_id) as remote:
                yield Running(remote, clock, superlink, registry, founders)
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _supernode_key(folder: Path) -> str:
    """The company's SuperNode public key line, made on its own machine (``folder``)."""
    return generate_node_key(folder / "supernode.key").public_key.read_text().strip()


def _pass(run: Running, proposal_id: str) -> str:
    """Alpha and beta vote for it; the voting period passes on the coordinator's clock."""
    run.clock.advance(1)  # voting opens after the proposal's start
    for voter in ("alpha", "beta"):
        run.remote.vote(signer=run.founders[voter], proposal_id=proposal_id, support="for",
                        now=run.clock.now())  # fmt: skip
    run.clock.advance(POLICY["voting_period_s"] + 1)
    run.remote.queue(proposal_id)
    return str(run.remote.execute(proposal_id).proposal["state"])


def test_supernode_keys_follow_an_admission_and_a_removal(running: Running, tmp_path: Path) -> None:
    # Prepare: a company joins from its own keys; the SuperLink lists no key before the vote
    company, node_key = Signer.generate(), _supernode_key(tmp_path)
    sent = send_join(running.remote, signer=company, member="rhine-road",
                     supernode_key=node_key, details={"company": "Rhine Road"},
                     now=running.clock.now())  # fmt: skip
    pending = running.superlink.nodes()
    # Execute: the board passes the proposal the join opened
    admitted = _pass(running, admit_proposal_id(sent))
    after_admit = running.superlink.nodes()
    node = running.registry.node_ids().get("rhine-road")
    with pytest.raises(DeploymentError) as impostor:  # the SuperLink holds that very key
        running.registry.register("impostor", node_key)
    # Execute: ... then removes the member
    remove = running.remote.propose(signer=running.founders["beta"], kind="remove-member",
                                    params={"member_id": "rhine-road"}, title="Remove rhine-road",
                                    now=running.clock.now())  # fmt: skip
    removed = _pass(running, remove.proposal["proposal_id"])
    # Assert: the SuperLink registered the key once the admission executed, and lists it as
    # unregistered once the removal did
    assert pending == {}
    assert admitted == removed == "executed"
    assert node is not None
    assert after_admit == {node: "registered"}
    assert "Public key already in use" in impostor.value.reason
    assert running.superlink.nodes() == {node: "unregistered"}
    assert running.registry.node_ids() == {}


def test_a_refusing_superlink_does_not_undo_the_admission(
    running: Running, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Prepare: a second company joins; nobody votes on the proposal its join opened, so it
    # lapses; alpha re-opens it; the coordinator's connection names an address where no
    # SuperLink listens when that admission executes
    company, node_key = Signer.generate(), _supernode_key(tmp_path)
    before = running.superlink.nodes()
    sent = send_join(running.remote, signer=company, member="baltic-rail",
                     supernode_key=node_key, details={"company": "Baltic Rail"},
                     now=running.clock.now())  # fmt: skip
    running.clock.advance(POLICY["voting_period_s"] + 2)
    lapsed = running.remote.proposal(admit_proposal_id(sent))["state"]
    admit = propose_admission(running.remote, signer=running.founders["alpha"], join=sent.join,
                              now=running.clock.now())  # fmt: skip
    connection = FlwrCli(running.superlink.flwr_home, env=dict, timeout_s=1)
    ca_cert = running.superlink.certs.ca_cert
    connection.connect(address=address("127.0.0.1", free_port("127.0.0.1")), ca_cert=ca_cert)
    try:
        # Execute
        with caplog.at_level(logging.ERROR, logger="consortium.service.roster"):
            state = _pass(running, admit.proposal["proposal_id"])
    finally:
        connection.connect(address=running.superlink.superlink_address, ca_cert=ca_cert)
    # Assert: the admission is committed (receipt checked) and the failed sync logged; the
    # SuperLink got no key, which waits for the next sync
    assert lapsed == "defeated"
    assert state == "executed"
    statuses = {j.member: j.status for j in join_requests(running.remote)}
    assert statuses["baltic-rail"] == "admitted"
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("SuperNode keys do not follow the roster yet" in m for m in failed), failed
    assert running.superlink.nodes() == before
    assert "baltic-rail" not in running.registry.node_ids()
