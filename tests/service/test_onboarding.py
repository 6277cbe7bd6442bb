"""Onboarding and witnessing through the real coordinator service, over TLS on loopback (issue 15).

Three companies make their keys in their own folders and send signed join requests, each of
which opens its own admit proposal (a second join for the same id or key is refused); the
founding board passes them and appoints a new treasurer; a cargo
owner registers its key and the new treasurer credits it. One company asks to leave from its
key folder and the coordinator removes it (its own process; the head it publishes covers the
removal at once). Then members witness the ledger from
their own state folders, the coordinator rewrites its history in its database (its own process,
:mod:`tests.service.rewrite_history`), and every member's next witness check fails. The clients
(this process, through the CLI and the client API) read no coordinator key and no database.
A cargo owner also buys a warehouse forecast through the service (``query warehouse
--coordinator``), and a typo in the warehouse id is named with a "did you mean", uncharged.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from consortium.cli.main import app
from consortium.client.onboarding import (
    deposit_points,
    join_consortium,
    join_requests,
    leave_consortium,
    member_of_key,
)
from consortium.client.remote import RemoteCoordinator, ServiceRefused
from consortium.client.witness import keep_receipt
from consortium.identity.keys import generate_key_file, load_signer
from consortium.ledger.signing import Signer
from consortium.ledger.witness import WITNESS_FILE, read_witnessed
from tests.service.conftest import BIN, REPO, Service

pytestmark = pytest.mark.slow  # a real service per backend (about a minute each)

COMPANIES = ("rhine-road", "baltic-rail", "nordsee-air")
SERVE_WAREHOUSES = True  # the module's service answers warehouse queries (conftest)
runner = CliRunner()


def _cli(*args: str | Path) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _conn(service: Service) -> list[str | Path]:
    return ["--coordinator", service.url, "--pin", service.pin, "--ca", service.ca_cert]


def _pass_all(
    remote: RemoteCoordinator, service: Service, ids: list[str], alpha_state: Path
) -> list[str]:
    """Alpha and beta vote for each (alpha keeps its receipts); then queue and execute."""
    for pid in ids:
        for voter in ("alpha", "beta"):
            written = remote.vote(signer=service.signer(voter), proposal_id=pid, support="for")
            if voter == "alpha":
                assert keep_receipt(alpha_state, written.receipt)
    deadline = max(
        datetime.fromisoformat(remote.proposal(pid)["deadline"].replace("Z", "+00:00"))
        for pid in ids
    )
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.05)
    states = []
    for pid in ids:
        remote.queue(pid)
        states.append(remote.execute(pid).proposal["state"])
    return states


def _witness(service: Service, key: Path, state: Path) -> Result:
    return runner.invoke(app, ["ledger", "witness", "--state", str(state), "--key", str(key),
                               *map(str, _conn(service))])  # fmt: skip


def test_companies_join_owner_registers_and_members_detect_a_rewrite(
    service: Service, tmp_path: Path
) -> None:
    # Prepare: three companies make their keys and send join requests from their own folders
    remote = RemoteCoordinator(service.url, pin=service.pin, ca_cert=service.ca_cert)
    folders = {name: tmp_path / name for name in COMPANIES}
    opened = []
    for name, folder in folders.items():
        _cli("members", "keygen", "--out", folder, "--no-passphrase")
        opened.append(_cli("members", "join", "--member", name, "--key-dir", folder,
                           "--detail", f"company={name.title()} Ltd", *_conn(service)))  # fmt: skip
    size = remote.head().size
    refused = {}
    for member, key in (("rhine-road", Signer.generate()), ("rhine-road-2", None)):
        signer = key or load_signer(folders["rhine-road"] / "member.key")
        with pytest.raises(ServiceRefused) as again:
            join_consortium(remote, signer=signer, member=member, details={},
                            supernode_key=(folders["baltic-rail"] / "supernode.key.pub")
                            .read_text(encoding="ascii"))  # fmt: skip
        refused[member] = (again.value.code, again.value.status)
    assert remote.head().size == size  # a second join per id or per key writes nothing
    treasurer_key = tmp_path / "treasurer" / "key"
    generate_key_file(treasurer_key)
    # Execute: each join opened its admit proposal; the board appoints a new treasurer, then
    # passes them all
    opened.append(_cli("treasurer", "propose", "--public-key", f"{treasurer_key}.pub",
                       "--key", service.keys["beta"], *_conn(service)))  # fmt: skip
    ids = [re.search(r"proposal (p-[0-9a-f]+)", out).group(1) for out in opened]  # type: ignore[union-attr]
    states = _pass_all(remote, service, ids, tmp_path / "state" / "alpha")
    owner_key = tmp_path / "owner" / "key"
    owner = generate_key_file(owner_key)
    _cli("cargo", "register", "--key", owner_key, *_conn(service))
    credited = _cli("treasurer", "credit", "--owner", owner.key_id, "--amount", "40",
                    "--ref", "INV-7001", "--key", treasurer_key, *_conn(service))  # fmt: skip
    # Assert: admitted, credited once; a second credit on the same reference charges nothing
    assert states == ["executed"] * 4
    assert refused == dict.fromkeys(("rhine-road", "rhine-road-2"), ("already-requested", 409))
    assert {j.member: j.status for j in join_requests(remote)} == dict.fromkeys(
        COMPANIES, "admitted"
    )
    assert "balance 40" in credited
    with pytest.raises(ServiceRefused) as twice:
        deposit_points(remote, treasurer=load_signer(treasurer_key), owner_key_id=owner.key_id,
                       amount=40, external_ref="INV-7001")  # fmt: skip
    assert twice.value.code == "duplicate-external-ref"
    assert remote.balance(f"cargo:{owner.key_id}") == 40

    # A member leaves from its own key folder (no member id: the service finds its key's); a
    # second request and one signed by another member's key are refused and write nothing; the
    # coordinator then removes it in its own process, and a witness sees the removal at once
    leaver = folders["nordsee-air"] / "member.key"
    left = _cli("members", "exit", "--key", leaver, *_conn(service))
    size = remote.head().size
    with pytest.raises(ServiceRefused) as again:
        leave_consortium(remote, signer=load_signer(leaver))
    with pytest.raises(ServiceRefused) as forged:
        leave_consortium(remote, signer=load_signer(folders["baltic-rail"] / "member.key"),
                         member="rhine-road")  # fmt: skip
    assert remote.head().size == size
    assert (again.value.code, again.value.status) == ("exit-already-requested", 409)
    assert (forged.value.code, forged.value.status) == ("wrong-key", 403)
    assert "exit of nordsee-air requested" in left
    subprocess.run(
        [str(BIN / "consortium"), "members", "remove", "--member", "nordsee-air", "--key",
         str(service.key_dir / "coordinator.key"), "--db", service.database_url],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    head = remote.head()
    assert remote.entries(start=head.size - 1, stop=head.size)[0].kind == "member-removed"
    assert member_of_key(remote, load_signer(leaver).key_id).status == "removed"

    # Members witness from their own state folders (alpha's entries are its votes and proposals)
    members = {
        name: (folders[name] / "member.key", tmp_path / "state" / name) for name in COMPANIES
    }
    members["alpha"] = (service.keys["alpha"], tmp_path / "state" / "alpha")
    first = {name: _witness(service, key, state) for name, (key, state) in members.items()}
    assert all(run.exit_code == 0 for run in first.values()), [r.output for r in first.values()]
    assert " 1 of your entries" in first["rhine-road"].output  # the proposal its join opened
    assert " 0 of your entries" not in first["alpha"].output  # its proposals and votes
    assert f"and {len(ids)} receipts included" in first["alpha"].output
    # the honest ledger so far passes the coordinator's full audit (its own process)
    audit = subprocess.run(
        [str(BIN / "consortium"), "ledger", "verify", "--db", service.database_url,
         "--pin-coordinator", service.pin],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr
    # Execute: the coordinator rewrites entry 3 in its database and signs a head over it
    script, saved = REPO / "tests/service/rewrite_history.py", tmp_path / "entry-3.json"
    history = [sys.executable, str(script)]
    place = [service.database_url, str(service.key_dir), "3", str(saved)]
    subprocess.run([*history, "rewrite", *place], check=True, cwd=REPO)
    try:
        # Assert: each member's next check fails, naming the mismatch; nothing new is kept
        for key, state in members.values():
            kept = len(read_witnessed(state / WITNESS_FILE))
            detected = _witness(service, key, state)
            assert detected.exit_code != 0
            assert "mismatch" in detected.output
            assert len(read_witnessed(state / WITNESS_FILE)) == kept
    finally:  # the service is shared with other tests: make its history honest again
        subprocess.run([*history, "restore", *place], check=True, cwd=REPO)


def test_a_cargo_owner_buys_a_warehouse_forecast_through_the_service(service: Service) -> None:
    # Prepare: the fixture's cargo owner (credited by the operator) and its own key file
    remote = RemoteCoordinator(service.url, pin=service.pin, ca_cert=service.ca_cert)
    account = f"cargo:{service.signer('cargo').key_id}"
    before = remote.balance(account)
    ask = ["query", "warehouse", "--max-price", "50", "--key", service.keys["cargo"],
           *_conn(service)]  # fmt: skip
    # Execute: a typo first (named, nothing charged), then the real id
    typo = runner.invoke(app, [str(a) for a in [*ask, "--warehouse", "WH-NLRTM-1"]])
    after_typo = remote.balance(account)
    bought = _cli(*ask, "--warehouse", "WH-NLRTM-01")
    # Assert
    assert typo.exit_code != 0
    assert "[unknown-warehouse]" in typo.output
    assert "did you mean WH-NLRTM-01?" in typo.output
    assert after_typo == before
    assert "(warehouse) answered by model" in bought
    fee = int(re.search(r"fee: (\d+) points; balance left (\d+)", bought).group(1))  # type: ignore[union-attr]
    assert fee > 0
    assert remote.balance(account) == before - fee
