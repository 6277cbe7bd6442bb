"""Command-line plumbing shared by the commands: the database option and URL, and key files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from consortium.config import load_settings
from consortium.db import create_schema, engine_from_settings, make_session_factory

if TYPE_CHECKING:
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


def open_database(url: str | None = None) -> sessionmaker[Session]:
    """Return a session factory over the coordinator database, creating missing tables.

    ``url`` defaults to ``CONSORTIUM_DATABASE_URL`` (see :class:`~consortium.config.Settings`).
    """
    register_tables()
    settings = load_settings(database_url=url) if url else load_settings()
    engine = engine_from_settings(settings)
    create_schema(engine)
    return make_session_factory(engine)
