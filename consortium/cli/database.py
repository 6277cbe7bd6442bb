"""Command-line plumbing shared by the commands: the database option, opening it, and key files.

Every command opens the coordinator database through :func:`open_database`: an existing one
only (a mistyped SQLite path is refused, never created), read-only commands without touching its
tables; only ``consortium demo`` creates a database.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from consortium.ledger.signing import Signer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the coordinator database (default: CONSORTIUM_DATABASE_URL).",
    ),
]


def load_key(path: Path, label: str = "") -> Signer:
    """Load a private key file, prompting (hidden) for its passphrase when it is encrypted."""
    from consortium.identity.keys import load_signer  # noqa: PLC0415

    try:
        encrypted = b"ENCRYPTED" in path.read_bytes()[:64]
    except OSError:
        encrypted = False  # load_signer reports the missing or unreadable file precisely
    passphrase = None
    if encrypted:
        what = f"the {label} key {path}" if label else str(path)
        passphrase = typer.prompt(f"Passphrase for {what}", hide_input=True).encode()
    return load_signer(path, passphrase=passphrase)


def register_tables() -> None:
    """Import every module that defines tables, so ``create_schema`` knows them all."""
    from consortium.forecasts import store as _forecasts  # noqa: F401, PLC0415
    from consortium.governance import models as _governance  # noqa: F401, PLC0415
    from consortium.identity import details as _details  # noqa: F401, PLC0415
    from consortium.ledger import store as _ledger  # noqa: F401, PLC0415
    from consortium.membership import models as _membership  # noqa: F401, PLC0415
    from consortium.points import models as _points  # noqa: F401, PLC0415
    from consortium.policy import store as _policy  # noqa: F401, PLC0415


def open_database(
    url: str | None = None, *, create: bool = False, read_only: bool = False
) -> sessionmaker[Session]:
    """Return a session factory over the coordinator database.

    Parameters
    ----------
    url
        SQLAlchemy URL; defaults to ``CONSORTIUM_DATABASE_URL`` (see
        :class:`~consortium.config.Settings`).
    create
        Create the database if it does not exist (``consortium demo``). Otherwise a SQLite
        file that is not there is refused with :class:`~consortium.errors.ConfigError`.
    read_only
        The command only reads: missing tables are not created (a read of a table that is not
        there fails as :class:`~consortium.errors.StoreUnavailable`).
    """
    from consortium.config import load_settings  # noqa: PLC0415
    from consortium.db import create_schema, make_engine, make_session_factory  # noqa: PLC0415

    register_tables()
    settings = load_settings(database_url=url) if url else load_settings()
    engine = make_engine(settings.database_url, must_exist=not create)
    if not read_only:
        create_schema(engine)
    return make_session_factory(engine)


database_app = typer.Typer(
    help="The coordinator database's schema: upgrade a database an older kit created.",
    no_args_is_help=True,
)


@database_app.command("upgrade")
def upgrade_cmd(db: DbOption = None) -> None:
    """Upgrade the coordinator database's schema to this kit's (Alembic), keeping every row.

    A database from before schema versioning is taken as schema 1 and upgraded; one that is
    already current is left as it is.
    """
    from consortium.cli.errors import reported_errors  # noqa: PLC0415
    from consortium.config import load_settings  # noqa: PLC0415
    from consortium.db import make_engine, upgrade_schema  # noqa: PLC0415

    with reported_errors():
        register_tables()
        settings = load_settings(database_url=db) if db else load_settings()
        before, after = upgrade_schema(make_engine(settings.database_url, must_exist=True))
    if before == after:
        typer.echo(f"database schema {after}: up to date")
    else:
        typer.echo(f"database schema {before} -> {after}: upgraded")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(database_app, name="database")
