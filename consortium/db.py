"""Engine, sessions and schema: the only module that knows SQLite from PostgreSQL.

Sessions are framed at the edge (``with session_factory.begin() as session:``); store
functions take that ``session`` and never commit, so a ledger entry and the state change it
records share one transaction.

SQLite: the sqlite3 driver's legacy transaction handling is switched off and every transaction
starts with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented ``begin``-event recipe), so SAVEPOINT
works and concurrent writers queue on the database lock (``busy_timeout``) instead of failing
on lock upgrade. WAL journal and foreign keys are switched on for every connection; commits
are fsynced (``synchronous = FULL``) on a durable engine (:func:`make_engine`), else at WAL
checkpoints only (``NORMAL``: a power cut may lose the last commits, never consistency).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from consortium.config import Settings
from consortium.errors import ConfigError, SchemaOutdated
from consortium.migrations import HEAD, current_revision, schema_number, stamp_head, upgrade

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
_SCHEMA_LOCK = 0x636F6E73  # PostgreSQL advisory lock key of schema changes ("cons")


class Base(DeclarativeBase):
    """Declarative base of every ORM model of the kit."""


def _sqlite_pragmas(engine: Engine, *, file_backed: bool, durable: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # driver leaves BEGIN to us (recipe below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if file_backed:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    url: str, *, echo: bool = False, must_exist: bool = False, durable: bool = False
) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL.

    Parameters
    ----------
    url
        ``sqlite:///path.db`` (the parent folder is created) or ``postgresql+psycopg://...``.
    echo
        Log SQL statements.
    must_exist
        Open an existing database only: a SQLite file that is not there is refused instead of
        created (nor is its folder). A PostgreSQL server never creates a database on connect.

    Raises
    ------
    ConfigError
        If the URL is malformed or names another backend, or (``must_exist``) the SQLite file
        does not exist.
    durable
        SQLite: fsync the write-ahead log at every commit (``synchronous = FULL``), so a
        committed transaction survives a power cut or an OS crash, not only a crash of the
        process (``NORMAL``, the default: cheaper, and consistent either way). The coordinator
        service's stores are durable: it hands out signed receipts for what it commits.
        PostgreSQL commits durably by its own settings.

    Examples
    --------
    >>> engine = make_engine("sqlite://")
    >>> engine.dialect.name
    'sqlite'
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError; keep the URL out of logs
        raise ConfigError("database_url", "not a valid SQLAlchemy URL") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        file_backed = database not in ("", ":memory:") and not database.startswith("file:")
        if file_backed and must_exist and not Path(database).is_file():
            raise ConfigError("database_url", f"no such database file: {database}")
        if file_backed:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo)
        _sqlite_pragmas(engine, file_backed=file_backed, durable=durable)
    elif backend == "postgresql":
        engine = create_engine(parsed, echo=echo, pool_pre_ping=True)
    else:
        raise ConfigError("database_url", f"unsupported backend {backend!r} (sqlite or postgresql)")
    logger.info("database engine for %s", parsed.render_as_string(hide_password=True))
    return engine


def engine_from_settings(settings: Settings) -> Engine:
    """Create the engine for ``settings.database_url``."""
    return make_engine(settings.database_url)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory; use it as ``with factory.begin() as session:``.

    ``expire_on_commit=False`` so frozen values read inside a transaction stay usable after it.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def _lock_schema(connection: Connection) -> None:
    """Serialise schema changes: SQLite's ``BEGIN IMMEDIATE`` already does; PostgreSQL locks."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})


def missing_columns(connection: Connection, metadata: MetaData) -> list[str]:
    """Return ``table.column`` for each column ``metadata`` defines that an existing table lacks."""
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    missing: list[str] = []
    for name, table in sorted(metadata.tables.items()):
        if name in existing:
            present = {column["name"] for column in inspector.get_columns(name)}
            missing += [f"{name}.{c.name}" for c in table.columns if c.name not in present]
    return missing


def create_schema(engine: Engine, metadata: MetaData | None = None) -> None:
    """Create every table registered on :class:`Base` (or ``metadata``) that is missing.

    Import the modules that define models (e.g. ``consortium.ledger.store``) before calling.
    A new database is stamped with the newest schema revision. An existing one must already be
    at it: a database stamped with an older revision, or one from before versioning whose
    tables lack a column the kit needs, is refused and left untouched.

    Raises
    ------
    SchemaOutdated
        ``database schema N, this kit needs M: run `consortium database upgrade --db URL```.
    """
    metadata = metadata or Base.metadata
    with engine.begin() as connection:
        _lock_schema(connection)
        found = current_revision(connection)
        if found is not None and found != HEAD:
            raise SchemaOutdated(schema_number(found), schema_number(HEAD))
        if found is None:
            missing = missing_columns(connection, metadata)
            if missing:
                raise SchemaOutdated(schema_number(None), schema_number(HEAD),
                                     detail=f"{missing[0]} is missing")  # fmt: skip
        metadata.create_all(connection)
        if found is None:
            stamp_head(connection)


def upgrade_schema(engine: Engine, metadata: MetaData | None = None) -> tuple[int, int]:
    """Upgrade the database to the kit's schema (Alembic), then create missing tables.

    Returns the schema numbers before and after. In one transaction: on PostgreSQL a failed
    upgrade changes nothing; SQLite commits each DDL statement's effect with the transaction.

    Raises
    ------
    SchemaOutdated
        If the database is newer than the kit, or still lacks a column after the upgrade.
    """
    metadata = metadata or Base.metadata
    with engine.begin() as connection:
        _lock_schema(connection)
        found = current_revision(connection)
        if found is not None and schema_number(found) > schema_number(HEAD):
            raise SchemaOutdated(schema_number(found), schema_number(HEAD))
        if found is None and not inspect(connection).get_table_names():
            metadata.create_all(connection)  # an empty database: made whole, at the newest
            stamp_head(connection)
            return schema_number(HEAD), schema_number(HEAD)
        before, after = upgrade(connection)
        metadata.create_all(connection)
        missing = missing_columns(connection, metadata)
        if missing:
            raise SchemaOutdated(schema_number(after), schema_number(HEAD),
                                 detail=f"{missing[0]} is still missing")  # fmt: skip
    return schema_number(before), schema_number(after)
