"""SuperNode keys follow the roster through the service (issue 15): admit and removal execute.

The coordinator's service runs on loopback (uvicorn, in a thread of this process, on a clock
the test moves) with the SuperLink's key list handed in as ``create_app(supernodes=...)``, as
``consortium coordinator serve --flwr-home DIR`` does with ``SuperNodeRegistry.at(DIR)``. The
SuperLink itself is not started here (tests/deployment/test_registration.py drives a real one):
the registry records the calls the service makes. A company joins with its SuperNode key; the
admit proposal its join request opened executes and the key is registered; a removal executes
and it is unregistered. A second company's own proposal lapses unvoted; a member re-opens it
(``propose_admission``, as ``consortium members propose-admit`` does) and a SuperLink that
refuses does not undo the committed admission.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consortium.client.onboarding import (
    admit_proposal_id,
    join_requests,
    propose_admission,
    send_join,
)
from consortium.client.remote import RemoteCoordinator
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
class RecordingRegistry:
    """The SuperLink's key list as the service sees it, recording each call."""

    nodes: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    refuse: bool = False

    def node_ids(self) -> dict[str, int]:
        return dict(self.nodes)

    def register(self, member: str, public_key: str) -> int:
        if self.refuse:
            raise DeploymentError(member, code="cli-failed", reason="the SuperLink is down")
        self.calls.append(("register", f"{member} {public_key}"))
        self.nodes[member] = len(self.calls)
        return self.nodes[member]

    def unregister(self, member: str) -> int:
        self.calls.append(("unregister", member))
        return self.nodes.pop(member)


@dataclass
class Running:
    remote: RemoteCoordinator
    clock: ManualClock
    registry: RecordingRegistry
    founders: dict[str, Signer]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A started consortium (three founders with points) served on loopback with a registry."""
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
    clock, registry = ManualClock(), RecordingRegistry()
    app = create_app(ServiceSettings(database_url=url, key_dir=root / "keys"), clock=clock,
                     supernodes=registry)  # fmt: skip
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws="none"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the service stopped at start"
        assert time.monotonic() < deadline, "the service did not start in time"
        time.sleep(0.01)
    try:
        with RemoteCoordinator(f"http://127.0.0.1:{port}", pin=genesis.key_id) as remote:
            yield Running(remote, clock, registry, founders)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _supernode_key() -> str:
    public = ec.generate_private_key(ec.SECP384R1()).public_key()
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return line.decode("ascii")


def _pass(run: Running, proposal_id: str) -> str:
    """Alpha and beta vote for it; the voting period passes on the coordinator's clock."""
    run.clock.advance(1)  # voting opens after the proposal's start
    for voter in ("alpha", "beta"):
        run.remote.vote(signer=run.founders[voter], proposal_id=proposal_id, support="for",
                        now=run.clock.now())  # fmt: skip
    run.clock.advance(POLICY["voting_period_s"] + 1)
    run.remote.queue(proposal_id)
    return str(run.remote.execute(proposal_id).proposal["state"])


def test_supernode_keys_follow_an_admission_and_a_removal(running: Running) -> None:
    # Prepare: a company joins from its own keys; nothing is registered at start
    company, node_key = Signer.generate(), _supernode_key()
    at_start = list(running.registry.calls)
    sent = send_join(running.remote, signer=company, member="rhine-road",
                     supernode_key=node_key, details={"company": "Rhine Road"},
                     now=running.clock.now())  # fmt: skip
    pending = list(running.registry.calls)
    # Execute: the board passes the proposal the join opened, then removes the member
    admitted = _pass(running, admit_proposal_id(sent))
    after_admit = list(running.registry.calls)
    remove = running.remote.propose(signer=running.founders["beta"], kind="remove-member",
                                    params={"member_id": "rhine-road"}, title="Remove rhine-road",
                                    now=running.clock.now())  # fmt: skip
    removed = _pass(running, remove.proposal["proposal_id"])
    # Assert: registered once when the admission executed, unregistered when the removal did
    assert (at_start, pending) == ([], [])
    assert admitted == removed == "executed"
    assert after_admit == [("register", f"rhine-road {node_key}")]
    assert running.registry.calls[1:] == [("unregister", "rhine-road")]
    assert running.registry.nodes == {}


def test_a_refusing_superlink_does_not_undo_the_admission(running: Running) -> None:
    # Prepare: a second company joins; nobody votes on the proposal its join opened, so it
    # lapses; alpha re-opens it; the SuperLink is down when that admission executes
    company, node_key = Signer.generate(), _supernode_key()
    sent = send_join(running.remote, signer=company, member="baltic-rail",
                     supernode_key=node_key, details={"company": "Baltic Rail"},
                     now=running.clock.now())  # fmt: skip
    running.clock.advance(POLICY["voting_period_s"] + 2)
    lapsed = running.remote.proposal(admit_proposal_id(sent))["state"]
    admit = propose_admission(running.remote, signer=running.founders["alpha"], join=sent.join,
                              now=running.clock.now())  # fmt: skip
    running.registry.refuse = True
    try:
        # Execute
        state = _pass(running, admit.proposal["proposal_id"])
    finally:
        running.registry.refuse = False
    # Assert: the admission is committed (receipt checked); the key waits for the next sync
    assert lapsed == "defeated"
    assert state == "executed"
    assert "baltic-rail" not in running.registry.nodes
    statuses = {j.member: j.status for j in join_requests(running.remote)}
    assert statuses["baltic-rail"] == "admitted"
