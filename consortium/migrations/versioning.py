"""Which schema revision a database is at, stamping a new one, and running the upgrade.

Every function takes the caller's connection and runs inside its transaction (on PostgreSQL
the DDL is transactional too: an upgrade that fails changes nothing). The revision lives in
Alembic's own version table (``alembic_version``); reading and stamping it use SQLAlchemy
alone, because importing Alembic costs more than most commands' work, and every command that
writes checks the version. Only :func:`upgrade` imports Alembic.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, MetaData, String, Table, insert, inspect, select

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = ["BASELINE", "HEAD", "current_revision", "schema_number", "stamp_head", "upgrade"]

logger = logging.getLogger(__name__)

HEAD = "0002"
"""The newest revision (schema 2: run ids); ``versions/`` must end here (a test checks it)."""
BASELINE = "0001"
"""The layout of a database created before versioning (schema 1)."""
_LOCATION = str(Path(__file__).parent)
VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), primary_key=True),
)
"""Alembic's version table, as Alembic creates it (one row: the revision)."""


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config  # noqa: PLC0415  (slow import: upgrades only)

    config = Config()
    config.set_main_option("script_location", _LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def script_directory() -> ScriptDirectory:
    """Return the kit's revisions (read once per process)."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory.from_config(_config())


def current_revision(connection: Connection) -> str | None:
    """Return the revision the database is stamped with (``None``: no version table)."""
    if not inspect(connection).has_table(VERSION_TABLE.name):
        return None
    return connection.execute(select(VERSION_TABLE.c.version_num)).scalar_one_or_none()


def schema_number(revision: str | None) -> int:
    """Return the schema number of a revision (``None``, from before versioning: 1).

    Examples
    --------
    >>> schema_number(None), schema_number("0001"), schema_number(HEAD)
    (1, 1, 2)
    """
    return 1 if revision is None else int(revision)


def stamp_head(connection: Connection) -> None:
    """Record that the database has the newest layout (after ``create_all()`` made it)."""
    _stamp(connection, HEAD)


def _stamp(connection: Connection, revision: str) -> None:
    """Create the version table if needed and make ``revision`` its one row."""
    VERSION_TABLE.create(connection, checkfirst=True)
    connection.execute(VERSION_TABLE.delete())
    connection.execute(insert(VERSION_TABLE).values(version_num=revision))


def upgrade(connection: Connection) -> tuple[str | None, str]:
    """Upgrade the database to :data:`HEAD`; return the revisions before and after.

    A database without a version table is first stamped with :data:`BASELINE` (the layout
    the kit created before it versioned the schema), then every later revision runs.
    """
    from alembic import command  # noqa: PLC0415

    before = current_revision(connection)
    if before is None:
        _stamp(connection, BASELINE)
    command.upgrade(_config(connection), "head")
    after = current_revision(connection) or HEAD
    logger.info("database schema %s -> %s", before or "unversioned", after)
    return before, after
