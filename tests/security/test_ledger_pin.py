"""Issue 14, item 10: a member pins the coordinator key (and the heads it witnessed).

The attack: a whole ledger forged under a new coordinator key (its own genesis, its own
registry, a 1,000,000-point mint, its own signed tree heads) verifies on its own, because
every signature, hash and head is the forger's. ``consortium ledger verify --export`` now
fails with ``--pin-coordinator`` (the key id the member trusts) or with ``--witness`` (the heads
it saw), and says so when neither is given.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.audit import export_ledger, sync_witness
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.ledger.store import publish_checkpoint
from consortium.ledger.witness import Witness
from consortium.points import models as _points_models  # noqa: F401  (tables)
from consortium.points.store import mint

runner = CliRunner()


def _ledger(factory: sessionmaker[Session], coordinator: Signer, member: Signer,
            amount: int, out: Path) -> None:  # fmt: skip
    """A consortium's ledger: genesis, a member, a mint, a tree head; exported to ``out``."""
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        mint(s, account="member:alpha-line", amount=amount, reason="contribution",
             refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        publish_checkpoint(s, signer=coordinator)
    with factory.begin() as s:
        export_ledger(s, out)


@pytest.fixture
def ledgers(tmp_path: Path) -> tuple[str, Path, Path, Path]:
    """The real coordinator's key id, its export, a member's witness file, and a forgery."""
    real, forger, member = Signer.generate(), Signer.generate(), Signer.generate()
    honest = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'real.db'}"))
    forged = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'forged.db'}"))
    for factory in (honest, forged):
        create_schema(factory.kw["bind"])
    _ledger(honest, real, member, 120, tmp_path / "real.jsonl")
    witness = Witness(tmp_path / "witness.jsonl", coordinator_key=real.public_key)
    with honest.begin() as s:
        sync_witness(s, witness)
    _ledger(forged, forger, member, 1_000_000, tmp_path / "forged.jsonl")
    return real.key_id, tmp_path / "real.jsonl", witness.path, tmp_path / "forged.jsonl"


def test_a_forged_ledger_fails_against_the_pinned_coordinator_key(
    ledgers: tuple[str, Path, Path, Path],
) -> None:
    # Prepare
    pin, real, _, forged = ledgers
    # Execute
    full = runner.invoke(app, ["ledger", "verify", "--export", str(forged),
                               "--pin-coordinator", pin])  # fmt: skip
    short = runner.invoke(app, ["ledger", "verify", "--export", str(forged),
                                "--pin-coordinator", pin[:16]])  # fmt: skip
    genuine = runner.invoke(app, ["ledger", "verify", "--export", str(real),
                                  "--pin-coordinator", pin])  # fmt: skip
    # Assert
    for result in (full, short):
        assert result.exit_code != 0
        assert "entry 0: the ledger's coordinator key" in result.output
        assert "is not the pinned key" in result.output
    assert genuine.exit_code == 0, genuine.output
    assert f"pinned: coordinator key {pin}" in genuine.output


def test_a_forged_ledger_fails_against_the_witnessed_heads(
    ledgers: tuple[str, Path, Path, Path],
) -> None:
    # Prepare
    _, real, witness, forged = ledgers
    # Execute
    result = runner.invoke(app, ["ledger", "verify", "--export", str(forged),
                                 "--witness", str(witness)])  # fmt: skip
    genuine = runner.invoke(app, ["ledger", "verify", "--export", str(real),
                                  "--witness", str(witness)])  # fmt: skip
    # Assert
    assert result.exit_code != 0
    assert "is not a coordinator key" in result.output
    assert genuine.exit_code == 0, genuine.output


def test_without_a_pin_verify_says_it_is_unpinned(ledgers: tuple[str, Path, Path, Path]) -> None:
    # Prepare
    _, _, _, forged = ledgers
    # Execute
    result = runner.invoke(app, ["ledger", "verify", "--export", str(forged)])
    # Assert: it verifies (nothing in the file alone can tell), and says what was not checked
    assert result.exit_code == 0, result.output
    assert "unpinned: coordinator key" in result.output
    assert "--pin-coordinator" in result.output
