"""The whole consortium through the real coordinator service, over TLS on loopback (issue 15).

Every client acts from its own key folder, signing on "its machine" (this process); the
coordinator's key and database are read only by the coordinator's processes (conftest). A cargo
owner buys a lane forecast and its balance falls; a member proposes a fee change, members vote,
anyone queues and executes it on the coordinator's clock, and the next query pays the new fee;
the owner also buys with the command line from its own key folder. A replayed request and bad
requests are refused with stable codes and charge nothing; every write's receipt (signed head +
inclusion proof) checks against the pinned key; and anyone can verify the ledger it serves,
the members' countersigned requests included.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from consortium.audit.state import check_member_signers
from consortium.cli.main import app
from consortium.client.cargo import lane_params
from consortium.client.remote import RemoteCoordinator, ServiceRefused
from consortium.errors import VerificationError
from consortium.forecasts.messages import new_query, sign_query
from consortium.ledger.entry import Entry
from consortium.ledger.requests import sign_request
from consortium.ledger.verify import verify_log
from tests.service.conftest import CREDIT, Service

pytestmark = pytest.mark.slow  # a real service per backend (about a minute each)

LANE = lane_params(origin="ITMIL", destination="FRPAR", mode="road",
                   departure=date(2026, 3, 9), days=7)  # fmt: skip
FEES = {"lane_query_points": 12, "warehouse_query_points": 30}


@pytest.fixture
def remote(service: Service) -> Iterator[RemoteCoordinator]:
    """A client of the service, pinned to its coordinator key."""
    with RemoteCoordinator(service.url, pin=service.pin, ca_cert=service.ca_cert) as client:
        yield client


def _size(remote: RemoteCoordinator) -> int:
    return remote.head().size


def test_a_consortium_plays_through_the_service(
    service: Service, remote: RemoteCoordinator
) -> None:
    # Prepare: each actor loads only its own key
    cargo, alpha, beta = service.signer("cargo"), service.signer("alpha"), service.signer("beta")
    # Execute: a paid query; a fee change proposed, voted, queued, executed; another query
    first = remote.buy_forecast(owner=cargo, kind="lane", params=LANE, max_price_points=50)
    proposal = remote.propose(signer=alpha, kind="fees", params=FEES, title="Lane fee to 12",
                              description="Pay the carriers more for lane answers.")  # fmt: skip
    pid = proposal.proposal["proposal_id"]
    for voter in (alpha, beta):
        remote.vote(signer=voter, proposal_id=pid, support="for", comment="agreed")
    deadline = datetime.fromisoformat(remote.proposal(pid)["deadline"].replace("Z", "+00:00"))
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.05)
    remote.queue(pid)
    executed = remote.execute(pid)
    second = remote.buy_forecast(owner=cargo, kind="lane", params=LANE, max_price_points=50)
    # Assert
    assert (first.fee, first.balance_left) == (10, CREDIT - 10)
    assert sum(first.parts.values()) == 10
    assert executed.proposal["state"] == "executed"
    assert remote.policy()["fees"]["lane"] == 12
    assert (second.fee, second.balance_left) == (12, CREDIT - 22)
    assert remote.cargo_balance(owner=cargo) == CREDIT - 22
    assert executed.proposal["votes"] == 2
    assert proposal.receipt.entry.actor == remote.coordinator_key_id
    assert second.receipt.known_size > 0  # the head it proves consistent with the last seen
    assert second.receipt.consistency


def test_a_replayed_vote_is_refused_and_writes_nothing(
    service: Service, remote: RemoteCoordinator
) -> None:
    # Prepare: gamma votes on a fresh proposal; its signed request is kept
    gamma = service.signer("gamma")
    pid = remote.propose(signer=service.signer("beta"), kind="fees", title="Warehouse fee 31",
                         params={"lane_query_points": 12,
                                 "warehouse_query_points": 31}).proposal["proposal_id"]
    request = sign_request(action="vote", body={"proposal_id": pid, "support": "against"},
                           signer=gamma, now=datetime.now(UTC))  # fmt: skip
    remote.submit_vote(request)
    size = _size(remote)
    # Execute: the same signed request again
    with pytest.raises(ServiceRefused) as replayed:
        remote.submit_vote(request)
    # Assert
    assert (replayed.value.status, replayed.value.code) == (409, "replay")
    assert _size(remote) == size


def test_bad_requests_get_stable_codes_and_charge_nothing(
    service: Service, remote: RemoteCoordinator
) -> None:
    # Prepare
    cargo = service.signer("cargo")
    balance, size = remote.cargo_balance(owner=cargo), _size(remote)
    cheap = new_query(kind="lane", params=LANE, issuer=cargo, max_price_points=1,
                      now=datetime.now(UTC))  # fmt: skip
    forged = new_query(kind="lane", params=LANE, issuer=cargo, max_price_points=50,
                       now=datetime.now(UTC))  # fmt: skip
    stale = sign_request(action="vote", body={"proposal_id": "p-0", "support": "for"},
                         signer=cargo, now=datetime.now(UTC) - timedelta(hours=1))  # fmt: skip
    context = ssl.create_default_context(cafile=str(service.ca_cert))
    # Execute
    with httpx.Client(base_url=f"{service.url}/v1", verify=context) as http:
        answers = {
            "cheap": http.post("/queries", json={
                "query": cheap, "signature": sign_query(cheap, signer=cargo).hex()}),
            "forged": http.post("/queries", json={  # another query's signature
                "query": forged, "signature": sign_query(cheap, signer=cargo).hex()}),
            "garbage": http.post("/queries", content=b"{not json"),
            "stale": http.post("/proposals/p-0/votes", json={"request": stale.to_json()}),
            "wrong-path": http.get("/no/such/route"),
        }
    # Assert: a stable code and status each, no trace, nothing charged or written
    codes = {name: (r.status_code, r.json()["error"]["code"]) for name, r in answers.items()}
    assert codes == {
        "cheap": (400, "over-max-price"),
        "forged": (401, "bad-signature"),
        "garbage": (422, "malformed"),
        "stale": (401, "expired"),
        "wrong-path": (404, "not-found"),
    }
    assert not any("Traceback" in r.text for r in answers.values())
    assert remote.cargo_balance(owner=cargo) == balance
    assert _size(remote) == size


def test_a_client_reads_the_lane_catalogue_and_the_model_card(remote: RemoteCoordinator) -> None:
    # Execute
    lanes = remote.lanes()
    card = remote.model_card("eta")
    with pytest.raises(ServiceRefused) as stock:
        remote.model_card("stock")
    # Assert
    wanted = {"origin": "ITMIL", "destination": "FRPAR", "mode": "road"}
    assert any(wanted.items() <= lane.items() for lane in lanes)
    assert card
    assert (stock.value.status, stock.value.code) == (400, "not-offered")


def test_a_client_refuses_a_coordinator_it_did_not_pin(service: Service) -> None:
    # Prepare
    other = RemoteCoordinator(service.url, pin="0" * 16, ca_cert=service.ca_cert)
    # Execute / Assert
    with other, pytest.raises(VerificationError, match="not the pinned key"):
        other.head()


def test_anyone_verifies_the_ledger_the_service_serves(remote: RemoteCoordinator) -> None:
    # Prepare: every entry and the newest head, as any member or auditor can fetch them
    head = remote.head()
    entries: list[Entry] = []
    while len(entries) < head.size:
        batch = remote.entries(start=len(entries), stop=head.size)
        entries.extend(batch)
    # Execute: signatures, roles, the countersigned requests, the head; members sign their own
    report = verify_log(entries, heads=[head], pinned_coordinator=remote.pin)
    check_member_signers(entries)
    # Assert: members' votes and proposals were countersigned requests, checked above
    countersigned = [e for e in entries if b'"request":' in e.payload]
    assert report.size == head.size
    assert {e.kind for e in countersigned} == {"proposal-created", "vote-cast"}
    assert all(e.actor == remote.coordinator_key_id for e in countersigned)


def test_a_cargo_owner_buys_from_the_command_line_with_its_own_key(
    service: Service, remote: RemoteCoordinator
) -> None:
    # Prepare: the command knows only the service, the pin, the CA and the owner's key file
    cargo = service.signer("cargo")
    before = remote.cargo_balance(owner=cargo)
    env = {"CONSORTIUM_COORDINATOR": service.url, "CONSORTIUM_COORDINATOR_PIN": service.pin,
           "CONSORTIUM_COORDINATOR_CA": str(service.ca_cert)}  # fmt: skip
    # Execute
    result = CliRunner().invoke(app, [
        "query", "lane", "--origin", "ITMIL", "--destination", "FRPAR", "--mode", "road",
        "--from", "2026-03-09T00:00:00Z", "--to", "2026-03-16T00:00:00Z", "--max-price", "50",
        "--key", str(service.keys["cargo"])], env=env)  # fmt: skip
    # Assert: the receipt was checked, and the fee it printed is what the balance lost
    assert result.exit_code == 0, result.output
    assert "(receipt checked)" in result.output
    fee = int(result.output.split("fee: ")[1].split()[0])
    assert fee > 0
    assert remote.cargo_balance(owner=cargo) == before - fee
