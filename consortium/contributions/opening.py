"""Open the coordinator's stores for a federation run: the ``LedgerRecorder`` its ServerApp uses.

The ServerApp runs on the coordinator's machine (beside the SuperLink on the deployment
runtime, in the same process on the one-machine runner) and builds its recorder itself from the
run config's ``ledger-db`` and ``coordinator-key`` (:func:`open_recorder`), so both runtimes
record rounds, mint points, read the board's policy and refuse removed members through the same
code. Only *where* the stores are travels in the run config, which Flower hands to every
member's SuperNode as well: the key stays in its file on the coordinator's machine and a
database password in the coordinator's environment (a URL that carries one is refused).

Examples
--------
>>> open_recorder(db_url="postgresql+psycopg://kit:secret@db/ledger", key_path=Path("k"))
Traceback (most recent call last):
...
consortium.errors.ConfigError: invalid ledger-db: ...not in the URL
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from consortium.contributions.recording import LedgerRecorder
from consortium.db import make_engine, make_session_factory
from consortium.errors import ConfigError
from consortium.identity.keys import load_signer
from consortium.identity.registry import list_keys
from consortium.ledger.keyring import Role

__all__ = ["open_recorder"]

logger = logging.getLogger(__name__)


def open_recorder(*, db_url: str, key_path: Path) -> LedgerRecorder:
    """Return a :class:`LedgerRecorder` over the coordinator's database, signing with its key.

    The database must hold a started ledger whose active coordinator key is the one in
    ``key_path`` (checked here, before any member is asked anything).

    Raises
    ------
    ConfigError
        ``ledger-db``: a URL with a password, a SQLite file that does not exist, or a database
        without a started ledger; ``coordinator-key``: the key is not the ledger's active
        coordinator key.
    KeyFileError
        The key file is missing, too open, encrypted or not an Ed25519 key.
    """
    try:
        url = make_url(db_url) if db_url else None
    except ArgumentError as exc:
        raise ConfigError("ledger-db", "not a valid SQLAlchemy URL") from exc
    if url is None or url.password is not None:
        raise ConfigError(
            "ledger-db",
            "give a database URL; the database password belongs in the coordinator's "
            "environment (PGPASSWORD, ~/.pgpass), not in the URL",
        )
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise ConfigError("ledger-db", f"no coordinator database at {url.database!r}")
    signer = load_signer(Path(key_path))
    factory = make_session_factory(make_engine(db_url))
    try:
        with factory.begin() as session:
            coordinators = {k.key_id for k in list_keys(session, role=Role.COORDINATOR)}
    except SQLAlchemyError as exc:
        reason = f"not a coordinator database ({exc.__class__.__name__})"
        raise ConfigError("ledger-db", reason) from exc
    if not coordinators:
        raise ConfigError("ledger-db", "the ledger has not been started (no coordinator key)")
    if signer.key_id not in coordinators:
        raise ConfigError(
            "coordinator-key", f"{key_path} is not the ledger's active coordinator key"
        )
    logger.info("recording rounds in %s", url.render_as_string(hide_password=True))
    return LedgerRecorder(factory, signer)
