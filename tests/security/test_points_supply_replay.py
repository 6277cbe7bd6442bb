"""Issue 14, item 8: ``consortium points supply`` replays the ledger instead of trusting tables.

The attack: whoever can write the coordinator's database moves 150 points from one member to
another with SQL ``UPDATE`` on both balances *and* both journal lines, so the stored books
still balance (sum of balances = minted - burned, journal = balances) and ``points supply``
reported them as sound. It now replays the balances from the signed ``points-minted`` entries
and refuses (non-zero exit), naming the entry and the account where the tables left the ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.entry import Entry
from consortium.ledger.signing import Signer
from consortium.points import models as _points_models  # noqa: F401  (tables)
from consortium.points.accounts import MINT_SOURCE
from consortium.points.models import AccountRow, JournalRow
from consortium.points.store import mint

runner = CliRunner()
ALPHA, BETA = "member:alpha-line", "member:beta-road"


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[str, sessionmaker[Session], dict[str, Entry]]:
    """A SQLite coordinator database with 400 points minted to alpha and 300 to beta."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator = Signer.generate()
    with factory.begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        mints = {
            account: mint(s, account=account, amount=amount, reason="contribution",
                          refs={"model": "eta", "round": 1}, signer=coordinator)
            for account, amount in ((ALPHA, 400), (BETA, 300))
        }  # fmt: skip
    return url, factory, mints


def _move(s: Session, *, src: str, dst: str, amount: int) -> None:
    """Move ``amount`` from ``src`` to ``dst`` by SQL so that the stored books still balance.

    Each account's balance and its mint's journal line change, and so does the ``mint`` source
    line of the same entry, so every entry's lines still sum to zero.
    """
    for account, delta in ((src, -amount), (dst, amount)):
        s.execute(update(AccountRow).where(AccountRow.account == account)
                  .values(balance=AccountRow.balance + delta))  # fmt: skip
        seq = s.execute(select(JournalRow.seq).where(JournalRow.account == account)).scalar_one()
        for line, change in ((account, delta), (MINT_SOURCE, -delta)):
            s.execute(update(JournalRow).where(JournalRow.seq == seq, JournalRow.account == line)
                      .values(delta=JournalRow.delta + change))  # fmt: skip


def test_points_supply_refuses_balances_moved_by_sql_behind_the_ledger(
    ledger: tuple[str, sessionmaker[Session], dict[str, Entry]],
) -> None:
    # Prepare: the honest books pass; then 150 points move from alpha to beta by SQL.
    url, factory, mints = ledger
    honest = runner.invoke(app, ["points", "supply", "--db", url])
    with factory.begin() as s:
        _move(s, src=ALPHA, dst=BETA, amount=150)
    # Execute
    result = runner.invoke(app, ["points", "supply", "--db", url])
    # Assert: refused, naming alpha's mint entry (the first that disagrees) and the account.
    assert honest.exit_code == 0, honest.output
    assert "minted 700, burned 0, circulating 700" in honest.output
    assert result.exit_code != 0
    assert f"entry {mints[ALPHA].seq}:" in result.output
    assert ALPHA in result.output
    assert "400" in result.output  # what the signed entry says


def test_points_supply_still_refuses_books_that_do_not_balance(
    ledger: tuple[str, sessionmaker[Session], dict[str, Entry]],
) -> None:
    # Prepare: a lone balance raised by SQL (journal untouched).
    url, factory, _ = ledger
    with factory.begin() as s:
        s.execute(update(AccountRow).where(AccountRow.account == BETA).values(balance=1_000_300))
    # Execute
    result = runner.invoke(app, ["points", "supply", "--db", url])
    # Assert
    assert result.exit_code != 0
    assert "books-unbalanced" in result.output or "balance" in result.output
