"""The coordinator's database at the command line: every store's tables, created when missing."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from consortium.config import load_settings
from consortium.db import create_schema, engine_from_settings, make_session_factory


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
