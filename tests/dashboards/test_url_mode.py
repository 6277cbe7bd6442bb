"""Every dashboard page on a member's or cargo owner's own machine, against the real service.

The pages run in this process (the member's machine) with only the service's URL, the pinned
coordinator key id, the consortium CA and the actor's own key file; the service is the real
``consortium coordinator serve`` on loopback over TLS (:mod:`tests.service.conftest`), one per
backend for the whole module. Its operator has recorded two federated rounds
(``operator_rounds.py``, in its own process). A proposal and a vote made on the governance page
land on the coordinator's ledger as entries countersigning the requests the member signed here;
the ledger page verifies what the service sends on this machine and names the entry a lying
service altered. The headless-Chromium check of every page (:mod:`tests.dashboards.test_browser`)
runs here too in URL mode, on this module's service.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from consortium.client.board_remote import power_frame
from consortium.client.ledger_remote import fetch_entries, verify_service_ledger
from consortium.client.public_remote import epsilon_frame_of
from consortium.client.remote import RemoteCoordinator
from consortium.ledger.entry import Entry
from consortium.ledger.requests import SignedRequest
from consortium.ledger.signing import verify_signature
from dashboards.context import service_handle
from tests.dashboards.charts import chart_specs, fields
from tests.dashboards.conftest import RUN_TIMEOUT_S, VIEWS
from tests.dashboards.operator_rounds import EPSILON_PER_ROUND, EXAMPLES
from tests.dashboards.test_browser import (  # noqa: F401  (fixtures)
    Browser,
    browser,
    check_pages,
    chromium,
    streamlit_server,
)
from tests.service.conftest import (  # noqa: F401  (fixtures)
    MEMBERS,
    POLICY,
    Service,
    eta_model,
    service,
)

URL_MODE_PAGES = (
    ("", "url-mode-overview", ("Logistics Consortium", "Ledger entries", "checked against the")),
    ("forecasts", "url-mode-forecasts", ("Pooled forecasts", "Model cards", "ε spent per member")),
    ("paid_queries", "url-mode-paid_queries", ("Paid queries", "Origin", "History")),
    ("governance", "url-mode-governance", ("Your member key file", "What it changes", "Policy")),
    ("ledger", "url-mode-ledger", ("Ledger", "Verified:", "verified on this machine")),
    ("points", "url-mode-points", ("Points", "Points over time", "Contributions")),
)
"""The same pages on a member's or cargo owner's machine, through the coordinator service."""

SQLITE = pytest.mark.parametrize("service", ["sqlite"], indirect=True)
BOTH = pytest.mark.parametrize(
    "service", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
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
    """Record two rounds as the coordinator's operator; at the end close the pages' clients.

    The clients are cached per URL, pin and CA: closing them lets the service stop without
    waiting on them.
    """
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("operator_rounds.py")),
         service.database_url, str(service.key_dir)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
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


@SQLITE
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


@SQLITE
def test_a_member_proposes_an_on_time_tolerance_from_the_page(
    service: Service,  # noqa: F811
    remote: RemoteCoordinator,
) -> None:
    # Prepare: alpha's key file given to the governance page
    at = _page(service, "governance")
    at.text_input(key="gov-key").set_value(str(service.keys["alpha"]))
    _run(at)
    before = remote.head().size
    # Execute: choose the tolerance kind, set air to 4 hours, sign and propose
    at.selectbox(key="gov-new-kind").set_value("on-time-tolerance")
    _run(at)
    at.text_input(key="gov-new-title").set_value("Air on time within 4 h")
    at.number_input(key="gov-new-tolerance-air").set_value(240)
    at.button(key="gov-propose").click()
    _run(at)
    # Assert: one proposal-created entry, signed by alpha, asking for air 240 and the rest as is
    created = [e for e in remote.entries(start=before) if e.kind == "proposal-created"]
    assert len(created) == 1
    request = SignedRequest.from_json(json.loads(created[0].payload)["request"])
    assert request.actor_key_id == service.signer("alpha").key_id
    asked = request.body["params"]["on_time_tolerance_minutes"]
    in_force = remote.policy()["on_time_tolerance_minutes"]
    assert asked == {**in_force, "air": 240}
    assert request.body["kind"] == "on-time-tolerance"


@SQLITE
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


@SQLITE
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


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@BOTH
def test_every_page_reads_through_the_service_and_the_ledger_is_verified_here(
    service: Service,  # noqa: F811
    remote: RemoteCoordinator,
) -> None:
    # Prepare: what the service serves, read and checked by the test's own client
    entries = fetch_entries(remote)
    kinds = [e.kind for e in entries]
    balances = {m: remote.balance(f"member:{m}") for m in MEMBERS}
    # Execute: the four pages that read the coordinator's figures
    overview, points, ledger, forecasts = (_page(service, name) for name in
                                           ("overview", "points", "ledger", "forecasts"))
    # Assert: overview, the roster, rounds and paid queries as the ledger holds them
    shown = _metrics(overview)
    assert shown["Active members"] == str(len(MEMBERS))
    assert shown["Federated rounds"] == "2"
    assert shown["Paid queries"] == str(kinds.count("query-answered"))
    assert int(shown["Ledger entries"]) >= len(entries)
    roster = overview.dataframe[0].value.set_index("member")
    assert roster.loc[list(MEMBERS), "points"].tolist() == list(balances.values())
    assert [sorted(fields(c)) for c in chart_specs(overview)] == [
        ["entries", "kind"], ["member", "points"]
    ]
    # Assert: points; the supply adds up, each round's contribution is listed
    shown = _metrics(points)
    assert int(shown["Minted"]) - int(shown["Redeemed (burned)"]) == int(shown["In circulation"])
    assert "The books balance (the coordinator service's check" in points.success[0].value
    table = points.dataframe[0].value.set_index("account")["balance"]
    assert {m: int(table[f"member:{m}"]) for m in MEMBERS} == balances
    paid = points.dataframe[1].value
    assert sorted(zip(paid["round"], paid["member"], paid["examples"], strict=True)) == sorted(
        (r, m, n) for r in (1, 2) for m, n in EXAMPLES.items()
    )
    # Assert: the ledger, fetched and verified on this machine against the pinned key
    assert ledger.success[0].value.startswith(f"Verified: {len(entries)} entries")
    assert "verified on this machine against the coordinator key you pinned" in "".join(
        c.value for c in ledger.caption
    )
    recent = ledger.dataframe[0].value
    assert recent["seq"].tolist() == [e.seq for e in reversed(entries)][: len(recent)]
    # Assert: forecasts: the served ETA card, and ε per member after each round
    assert _metrics(forecasts)["Kind"] == "eta"
    assert {"epsilon_spent", "member", "round"} <= fields(chart_specs(forecasts)[0])
    rounds = forecasts.dataframe[0].value
    assert rounds["round"].tolist() == [1, 2]
    spent = epsilon_frame_of(remote, model="eta").set_index(["round", "member"])["epsilon_spent"]
    assert spent.to_dict() == pytest.approx(
        {(r, m): e * r for r in (1, 2) for m, e in EPSILON_PER_ROUND.items()}
    )


class LyingService(RemoteCoordinator):
    """A service that alters one entry's payload on its way to the client."""

    altered: int = 2

    def entries(self, *, start: int = 0, stop: int | None = None) -> list[Entry]:
        served = super().entries(start=start, stop=stop)
        return [dataclasses.replace(e, payload=e.payload.replace(b"}", b',"x":1}', 1))
                if e.seq == self.altered else e for e in served]  # fmt: skip


@SQLITE
def test_the_client_names_the_entry_a_lying_service_altered(service: Service) -> None:  # noqa: F811
    # Prepare: an honest and a lying service (the same one, one entry altered in transit)
    honest = RemoteCoordinator(service.url, pin=service.pin, ca_cert=service.ca_cert)
    lying = LyingService(service.url, pin=service.pin, ca_cert=service.ca_cert)
    # Execute
    with honest, lying:
        good, bad = verify_service_ledger(honest), verify_service_ledger(lying)
    # Assert: the honest ledger verifies; the altered entry is named
    assert good.status.ok
    assert good.status.size == len(good.entries)
    assert not bad.status.ok
    assert bad.status.index == LyingService.altered


@pytest.fixture(scope="module")
def url_mode_server(
    service: Service,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The dashboard on a member's machine, against this module's coordinator service.

    With a proposal to show: alpha proposes and votes from its own key folder, unless the
    governance test already did.
    """
    with RemoteCoordinator(service.url, pin=service.pin, ca_cert=service.ca_cert) as remote:
        if not remote.proposals():
            alpha = service.signer("alpha")
            written = remote.propose(signer=alpha, kind="fees", title="Lane fee to 12",
                                     params={"lane_query_points": 12,
                                             "warehouse_query_points": 25})  # fmt: skip
            remote.vote(signer=alpha, proposal_id=written.proposal["proposal_id"], support="for")
    yield from streamlit_server(tmp_path_factory, "--coordinator", service.url, "--pin",
                                service.pin, "--ca", str(service.ca_cert))  # fmt: skip


@pytest.mark.slow
@SQLITE
def test_every_page_renders_whole_in_a_real_browser_through_the_service(
    browser: Browser,  # noqa: F811
    url_mode_server: str,
) -> None:
    # Execute: the member's own dashboard, every page through the service on loopback
    problems = check_pages(browser, url_mode_server, URL_MODE_PAGES, members=len(MEMBERS))
    # Assert
    assert not problems, "\n".join(problems)
