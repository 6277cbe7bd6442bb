"""The governance page on a board member's own machine, against the real coordinator service.

The page runs in this process (the member's machine) with only the service's URL, the pinned
coordinator key id, the consortium CA and the member's own key file; the service is the real
``consortium coordinator serve`` on loopback over TLS (:mod:`tests.service.conftest`). A
proposal and a vote made on the page land on the coordinator's ledger as entries countersigning
the requests the member signed here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from consortium.client.board_remote import power_frame
from consortium.client.remote import RemoteCoordinator
from consortium.ledger.requests import SignedRequest
from consortium.ledger.signing import verify_signature
from dashboards.context import service_handle
from tests.dashboards.conftest import RUN_TIMEOUT_S, VIEWS
from tests.service.conftest import POLICY, Service, eta_model, service  # noqa: F401  (fixtures)

pytestmark = pytest.mark.parametrize("service", ["sqlite"], indirect=True)
WRONG_PIN = "ab" * 32
LOOPBACK_VOTING_PERIOD_S = POLICY["voting_period_s"]


@pytest.fixture(scope="session", autouse=True)
def _votes_stay_open() -> None:
    """Open votes for 10 minutes in this module's service (set before it starts).

    The loopback tests need a 4 s voting period; a person clicking through the page does not,
    and a loaded test machine must not close the vote between two page runs. Session scope only
    orders it before the module-scoped service; :func:`_close_page_clients` restores the period
    when this module ends.
    """
    POLICY["voting_period_s"] = 600


@pytest.fixture(scope="module", autouse=True)
def _close_page_clients(service: Service) -> Iterator[None]:  # noqa: F811
    """Close the pages' cached service clients, so the service stops without waiting on them."""
    yield
    for pin in (service.pin, WRONG_PIN):
        service_handle(service.url, pin, str(service.ca_cert)).close()
    service_handle.clear()
    POLICY["voting_period_s"] = LOOPBACK_VOTING_PERIOD_S


@pytest.fixture
def remote(service: Service) -> Iterator[RemoteCoordinator]:  # noqa: F811
    """The test's own client of the service, to check what the page wrote."""
    with RemoteCoordinator(service.url, pin=service.pin, ca_cert=service.ca_cert) as client:
        yield client


def _page(service: Service, name: str) -> AppTest:  # noqa: F811
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=RUN_TIMEOUT_S)
    at.secrets["coordinator"] = service.url
    at.secrets["coordinator_pin"] = service.pin
    at.secrets["coordinator_ca"] = str(service.ca_cert)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_member_proposes_and_votes_from_the_page_through_the_service(
    service: Service,  # noqa: F811
    remote: RemoteCoordinator,
) -> None:
    # Prepare: the page knows the service, the pin, the CA and, once given, alpha's key file
    alpha = service.signer("alpha")
    at = _page(service, "governance")
    at.text_input(key="gov-key").set_value(str(service.keys["alpha"]))
    _run(at)
    assert {m.label: m.value for m in at.metric}["Signing as member"] == "alpha"
    before = remote.head().size
    # Execute: propose a fee change, then vote for it, both from the page
    at.text_input(key="gov-new-title").set_value("Lane fee to 12")
    at.number_input(key="gov-new-lane").set_value(12)
    at.button(key="gov-propose").click()
    _run(at)
    proposal_id = at.selectbox(key="gov-proposal").value
    proposed = at.success[0].value
    changes = at.dataframe[1].value.values.tolist()  # proposals, changes, powers, policy, history
    at.radio(key="gov-support").set_value("for")
    at.button(key="gov-vote").click()
    _run(at)
    voted = at.success[0].value
    # Assert: the page showed what the proposal changes and alpha's power at the snapshot
    assert f"alpha proposed {proposal_id}" in proposed
    assert ["fee: lane query", "10 points", "12 points"] in changes
    powers = power_frame(remote, proposal_id).set_index("member")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Your power at the snapshot (alpha)"] == f"{powers.loc['alpha', 'power']:,}"
    assert powers.loc["alpha", "support"] == "for"
    assert "alpha voted for" in voted
    # Assert: both are on the ledger, signed by the coordinator, countersigning alpha's requests
    entries = remote.entries(start=before)
    written = {e.kind: e for e in entries if e.kind in ("proposal-created", "vote-cast")}
    assert set(written) == {"proposal-created", "vote-cast"}
    for entry in written.values():
        verify_signature(remote.coordinator_key, entry.signature, entry.signing_bytes())
        assert entry.actor == remote.coordinator_key_id
        request = SignedRequest.from_json(json.loads(entry.payload)["request"])
        request.verify(alpha.public_key)
        assert request.actor_key_id == alpha.key_id
    vote = SignedRequest.from_json(json.loads(written["vote-cast"].payload)["request"])
    assert (vote.body["proposal_id"], vote.body["support"]) == (proposal_id, "for")
    assert f"ledger entry {written['vote-cast'].seq} (vote-cast)" in voted


def test_the_page_refuses_a_service_that_is_not_the_pinned_coordinator(
    service: Service,  # noqa: F811
) -> None:
    # Prepare: a pin of another coordinator key
    at = AppTest.from_file(str(VIEWS / "governance.py"), default_timeout=RUN_TIMEOUT_S)
    at.secrets["coordinator"] = service.url
    at.secrets["coordinator_pin"] = WRONG_PIN
    at.secrets["coordinator_ca"] = str(service.ca_cert)
    # Execute
    at.run()
    # Assert: the page stops with the reason and shows nothing the service sent
    assert not at.exception
    assert "not the pinned key" in at.error[0].value
    assert not at.dataframe


def test_a_cargo_owner_buys_a_lane_forecast_from_the_page_through_the_service(
    service: Service,  # noqa: F811
    remote: RemoteCoordinator,
) -> None:
    # Prepare: the owner's page with its key file; its balance as the service reports it
    owner = service.signer("cargo")
    before = remote.cargo_balance(owner=owner)
    at = _page(service, "paid_queries")
    at.text_input(key="paid-key").set_value(str(service.keys["cargo"]))
    _run(at)
    shown = {m.label: m.value for m in at.metric}
    # Execute: ask a catalogued lane, sign and buy
    at.text_input(key="paid-origin").set_value("ITMIL")
    at.text_input(key="paid-destination").set_value("FRPAR")
    at.selectbox(key="paid-mode").set_value("road")
    at.date_input(key="paid-from").set_value(date(2026, 3, 9))
    at.button(key="paid-submit").click()
    _run(at)
    # Assert: the balance before, the answer card, the fee charged through the service
    fee = int(shown["Lane query fee"].split()[0])
    after = remote.cargo_balance(owner=owner)
    assert shown["Your balance"] == f"{before:,} points"
    assert after == before - fee
    assert f"your balance went from {before:,} to {after:,} points" in at.success[0].value
    card = {m.label: m.value for m in at.metric}
    assert card["Balance left"] == f"{after:,} points"
    moves = at.dataframe[-1].value  # catalogue, where the fee went, your movements
    assert (-fee, after) in zip(moves["delta"], moves["balance"], strict=True)
