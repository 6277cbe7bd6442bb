"""A typo in an account or a warehouse is an error with a "did you mean", never a silent answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortium.cli.database import open_database
from consortium.cli.main import app
from consortium.config import REPO_ROOT
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.membership import admit_member
from consortium.points.store import balance, deposit

runner = CliRunner()


class Consortium:
    def __init__(self, root: Path) -> None:
        self.url = f"sqlite:///{root / 'coordinator.db'}"
        self.coordinator_key = root / "coordinator.key"
        self.owner_key = root / "owner.key"
        self.members = root / "members"


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    """A coordinator database with one admitted member and a credited buyer; one warehouse."""
    root = tmp_path_factory.mktemp("lookup")
    c = Consortium(root)
    factory = open_database(c.url, create=True)
    coordinator = generate_key_file(c.coordinator_key)
    owner = generate_key_file(c.owner_key)
    treasurer = generate_key_file(root / "treasurer.key")
    member = generate_key_file(root / "rhine-road.key")
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        admit_member(s, member="rhine-road", public_key=member.public_key, signer=coordinator)
        register_key(s, public_key=owner.public_key, role=Role.CARGO_OWNER, signer=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        deposit(s, account="cargo:" + owner.key_id, amount=100, external_ref="INV-1",
                signer=treasurer)  # fmt: skip
    warehouse = c.members / "rotterdam-dc"
    warehouse.mkdir(parents=True)
    example = REPO_ROOT / "data_schemas" / "examples" / "stock.valid.csv"
    shutil.copy(example, warehouse / "stock.csv")
    (warehouse / "member.json").write_text(json.dumps(
        {"member_id": "rotterdam-dc", "kind": "warehouse", "file": "stock.csv"}))  # fmt: skip
    (warehouse / "sources.json").write_text(json.dumps({
        "schema_version": 1, "member_id": "rotterdam-dc",
        "sources": [{"path": "stock.csv", "contract": "stock", "purposes": ["query-answering"]}],
    }))  # fmt: skip
    return c


def test_an_unknown_account_is_an_error_with_the_nearest_name(consortium: Consortium) -> None:
    # Execute
    typo = runner.invoke(app, ["points", "balance", "--account", "member:rhine-raod",
                               "--db", consortium.url])  # fmt: skip
    history = runner.invoke(app, ["points", "history", "--account", "member:rhine-raod",
                                  "--db", consortium.url])  # fmt: skip
    # Assert
    assert typo.exit_code == 1
    assert "[unknown-account]" in typo.output
    assert "did you mean member:rhine-road?" in typo.output
    assert history.exit_code == 1
    assert "did you mean member:rhine-road?" in history.output


def test_an_admitted_member_without_points_has_a_zero_balance(consortium: Consortium) -> None:
    result = runner.invoke(app, ["points", "balance", "--account", "member:rhine-road",
                                 "--db", consortium.url])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "member:rhine-road  0" in result.output


def test_an_unknown_warehouse_is_named_before_any_price_or_balance(
    consortium: Consortium, tmp_path: Path
) -> None:
    # Prepare: the buyer could not afford the fee either (max price 1): the typo is what matters
    args = ["query", "warehouse", "--warehouse", "WH-RTM-2", "--members", str(consortium.members),
            "--key", str(consortium.owner_key), "--coordinator-key",
            str(consortium.coordinator_key), "--model-dir", str(tmp_path / "no-model"),
            "--db", consortium.url, "--max-price", "1"]  # fmt: skip
    # Execute
    result = runner.invoke(app, args)
    # Assert
    assert result.exit_code == 1
    assert "[unknown-warehouse]" in result.output
    assert "known: WH-HAM-2, WH-RTM-1" in result.output
    assert "did you mean WH-RTM-1?" in result.output
    assert "price" not in result.output
    factory = open_database(consortium.url, read_only=True)
    with factory.begin() as s:
        assert balance(s, "treasury") == 0  # nothing charged
