"""`consortium database upgrade`: an old-layout database is refused, then upgraded losing no row.

A coordinator database created before contributions and rounds were keyed by run id has no
``run_id`` columns. ``create_all()`` leaves existing tables as they are, so the kit used to run
on it silently (and fail later, or key mints wrongly). Now the kit refuses it ("database schema
1, this kit needs 2") and ``consortium database upgrade`` migrates it with Alembic.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from typer.testing import CliRunner

from consortium.cli.database import register_tables
from consortium.cli.main import app
from consortium.db import Base, create_schema, make_engine, make_session_factory
from consortium.errors import SchemaOutdated
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.signing import Signer
from consortium.migrations import HEAD
from consortium.migrations.versioning import script_directory
from consortium.points.models import ContributionRow
from consortium.points.rounds import append_round_completed
from consortium.points.store import mint

runner = CliRunner()
_TO_OLD_LAYOUT = (
    "DROP INDEX ux_points_contributions_once",
    "ALTER TABLE points_contributions DROP COLUMN run_id",
    "CREATE UNIQUE INDEX ux_points_contributions_once ON points_contributions(model,round,account)",
    "DROP INDEX ix_points_rounds_run",
    "ALTER TABLE points_rounds DROP COLUMN run_id",
    "DROP TABLE alembic_version",
)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        names = [n for n in inspect(c).get_table_names() if n != "alembic_version"]
        return {n: int(c.execute(select(func.count()).select_from(text(n))).scalar_one())
                for n in names}  # fmt: skip


@pytest.fixture
def old_database(database_url: str) -> tuple[str, Signer]:
    """A coordinator database with rows, in the layout from before run ids (both backends)."""
    register_tables()
    url = database_url
    engine = make_engine(url)
    create_schema(engine)
    coordinator = Signer.generate()
    with make_session_factory(engine).begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        for account, amount in (("member:alpha-line", 400), ("member:beta-road", 300)):
            mint(s, account=account, amount=amount, reason="contribution",
                 refs={"model": "eta", "round": 1}, signer=coordinator)  # fmt: skip
        payload = {"model": "eta", "round": 1, "model_version": "ab" * 32}
        append_round_completed(s, signer=coordinator, payload=payload)
    with engine.begin() as c:
        for statement in _TO_OLD_LAYOUT:
            c.exec_driver_sql(statement)
    engine.dispose()
    return url, coordinator


def test_the_revisions_end_at_the_kits_schema() -> None:
    assert script_directory().get_current_head() == HEAD


def test_an_old_database_is_refused_then_upgraded_without_losing_a_row(
    old_database: tuple[str, Signer],
) -> None:
    # Prepare
    url, coordinator = old_database
    engine = make_engine(url)
    before = _counts(engine)
    # Execute / Assert: the kit refuses the old layout and changes nothing ...
    with pytest.raises(SchemaOutdated) as refused:
        create_schema(engine)
    assert (refused.value.found, refused.value.needed) == (1, 2)
    assert "consortium database upgrade" in str(refused.value)
    assert _counts(engine) == before
    # ... `database upgrade` migrates it, keeping every row ...
    upgraded = runner.invoke(app, ["database", "upgrade", "--db", url])
    again = runner.invoke(app, ["database", "upgrade", "--db", url])
    assert upgraded.exit_code == 0, upgraded.output
    assert "database schema 1 -> 2: upgraded" in upgraded.output
    assert "database schema 2: up to date" in again.output
    assert _counts(engine) == before
    # ... and the upgraded database works: a second run mints round 1 again, under its id.
    create_schema(engine)
    with make_session_factory(engine).begin() as s:
        mint(s, account="member:alpha-line", amount=50, reason="contribution",
             refs={"model": "eta", "round": 1, "run": "run-2"}, signer=coordinator)  # fmt: skip
        runs = sorted(s.execute(select(ContributionRow.run_id)).scalars())
    assert runs == ["", "", "run-2"]
    verified = runner.invoke(app, ["ledger", "verify", "--db", url])
    assert verified.exit_code == 0, verified.output
    assert not Base.metadata.tables.keys() - set(_counts(engine))
