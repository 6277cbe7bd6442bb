"""`consortium points ...` and `consortium policy show` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.cli.points import register
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.points.store import balance, mint, settle
from consortium.policy.store import change_policy

runner = CliRunner()
Factory = sessionmaker[Session]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def treasurer_key(factory: Factory, coordinator: Signer, tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "treasurer.key"
    signer = generate_key_file(path, passphrase=b"correct horse")
    with factory.begin() as s:
        register_key(s, public_key=signer.public_key, role=Role.TREASURER, signer=coordinator)
    return path


def test_deposit_redeem_balance_history_and_supply(
    app: typer.Typer, factory: Factory, coordinator: Signer, cargo_owner: Signer,
    treasurer_key: Path, database_url: str,
) -> None:  # fmt: skip
    # Prepare
    account = "cargo:" + cargo_owner.key_id
    db = ["--db", database_url]
    pay = ["--account", account, "--key", str(treasurer_key), *db]
    # Execute
    put = runner.invoke(app, ["points", "deposit", *pay, "--amount", "120", "--external-ref",
                              "INV-2026-0042"], input="correct horse\n")  # fmt: skip
    with factory.begin() as s:
        settle(s, payer=account, parts={"treasury": 20}, refs={"query": "q-1"},
               signer=coordinator)  # fmt: skip
    out = runner.invoke(app, ["points", "redeem", *pay, "--amount", "30",
                              "--external-ref", "PAYOUT-1"], input="correct horse\n")  # fmt: skip
    one = runner.invoke(app, ["points", "balance", "--account", account, *db])
    every = runner.invoke(app, ["points", "balance", *db])
    moves = runner.invoke(app, ["points", "history", "--account", account, *db])
    total = runner.invoke(app, ["points", "supply", *db])
    # Assert
    for result in (put, out, one, every, moves, total):
        assert result.exit_code == 0, result.output
    assert f"120 points deposited to {account}" in put.output
    assert "balance 70" in out.output
    assert one.output.strip() == f"{account}  70"
    assert "2 accounts, 90 points in total" in every.output
    assert [line.split()[2:] for line in moves.output.strip().splitlines()] == [
        ["points-deposited", "+120", "120"], ["query-settled", "-20", "100"],
        ["points-redeemed", "-30", "70"],
    ]  # fmt: skip
    assert "minted 120, burned 30, circulating 90" in total.output
    assert "correct horse" not in put.output.replace("Passphrase", "")


def test_overdraft_and_wrong_role_exit_non_zero_with_the_reason(
    app: typer.Typer, factory: Factory, coordinator: Signer, cargo_owner: Signer,
    treasurer_key: Path, database_url: str, tmp_path: Path,
) -> None:  # fmt: skip
    # Prepare
    account = "cargo:" + cargo_owner.key_id
    member_key = tmp_path / "member.key"
    member = generate_key_file(member_key)
    with factory.begin() as s:
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
    # Execute
    overdraft = runner.invoke(app, ["points", "redeem", "--account", account, "--amount", "5",
                                    "--external-ref", "OUT-1", "--key", str(treasurer_key),
                                    "--db", database_url], input="correct horse\n")  # fmt: skip
    wrong_role = runner.invoke(app, ["points", "deposit", "--account", account, "--amount", "5",
                                     "--external-ref", "INV-1", "--key", str(member_key),
                                     "--db", database_url])  # fmt: skip
    bad_account = runner.invoke(app, ["points", "balance", "--account", "alice",
                                      "--db", database_url])  # fmt: skip
    # Assert
    assert overdraft.exit_code == 1
    assert f"account {account}: balance 0 is less than 5" in overdraft.output
    assert wrong_role.exit_code == 1
    assert "a member key cannot deposit points" in wrong_role.output
    assert "[not-allowed]" in wrong_role.output
    assert bad_account.exit_code == 1
    assert "[bad-account]" in bad_account.output
    with factory.begin() as s:
        assert balance(s, account) == 0


def test_policy_show_prints_defaults_then_the_board_changes(
    app: typer.Typer, factory: Factory, coordinator: Signer, database_url: str
) -> None:
    # Execute
    before = runner.invoke(app, ["policy", "show", "--db", database_url])
    with factory.begin() as s:
        change_policy(s, changes={"fees": {"lane": 12}, "treasury_share_bps": 500},
                      signer=coordinator, proposal_id="p-1")  # fmt: skip
        mint(s, account="member:alpha-line", amount=5, reason="contribution",
             refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
    after = runner.invoke(app, ["policy", "show", "--db", database_url])
    # Assert
    assert before.exit_code == after.exit_code == 0, before.output + after.output
    assert "policy version 0 (defaults)" in before.output
    assert "lane=10, warehouse=25" in before.output
    assert "policy version 1" in after.output
    assert "lane=12, warehouse=25" in after.output
    assert "treasury_share_bps           500" in after.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_command_has_help(app: typer.Typer, database_url: str) -> None:
    for command in (["points"], ["points", "balance"], ["points", "deposit"],
                    ["points", "redeem"], ["points", "history"], ["points", "supply"],
                    ["policy", "show"]):  # fmt: skip
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output
    assert "--external-ref" in runner.invoke(app, ["points", "deposit", "--help"]).output
