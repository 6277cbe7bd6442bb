"""What the service runs on: its settings, the coordinator's stores, key and clock.

Built once when the app starts (:func:`load_state`) and handed to every route through the
:func:`consortium.service.deps.service_state` dependency.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from consortium.config import Settings
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.errors import ConfigError
from consortium.governance.clock import SYSTEM_CLOCK, Clock
from consortium.identity.keys import load_signer
from consortium.ledger.signing import Signer
from consortium.service.tree import TreeCache

if TYPE_CHECKING:  # the forecast service imports torch: loaded only when lanes are offered
    from consortium.forecasts.service import QueryService
    from consortium.membership.joins import SupernodeRegistry

logger = logging.getLogger(__name__)

KEY_FILE = "coordinator.key"
"""The coordinator's private key file in its key folder (0600, read by the service alone)."""


@dataclass(frozen=True)
class ServiceSettings:
    """How a coordinator service is started.

    Parameters
    ----------
    database_url
        SQLAlchemy URL of the coordinator's stores (SQLite or PostgreSQL).
    key_dir
        The folder holding :data:`KEY_FILE` (``consortium coordinator init`` made it).
    eta_model_dir
        The pooled ETA model with its lane catalogue; ``None``: lane queries are not offered.
    stock_model_dir
        The pooled stock-risk model; warehouse queries also need ``members_dir``.
    members_dir
        A synthetic consortium folder whose warehouses answer in this process (one machine).
    settings
        The kit's settings (where the data contracts live).
    """

    database_url: str
    key_dir: Path
    eta_model_dir: Path | None = None
    stock_model_dir: Path | None = None
    members_dir: Path | None = None
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True)
class ServiceState:
    """The running service: stores, coordinator key, clock and the paid-query service."""

    settings: ServiceSettings
    factory: sessionmaker[Session] = field(repr=False)
    coordinator: Signer = field(repr=False)
    clock: Clock = field(default=SYSTEM_CLOCK, repr=False)
    queries: QueryService | None = field(default=None, repr=False)
    trees: TreeCache = field(default_factory=TreeCache, repr=False)
    supernodes: SupernodeRegistry | None = field(default=None, repr=False)
    """The SuperLink's SuperNode keys, kept equal to the roster (:mod:`.roster`)."""

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        with self.factory.begin() as session:
            yield session


def open_stores(
    database_url: str, *, create_tables: bool = False, durable: bool = False
) -> sessionmaker[Session]:
    """Open the coordinator's stores (every table module registered; created if asked).

    ``durable``: every commit reaches the disk before it returns (see
    :func:`~consortium.db.make_engine`); the running service and ``coordinator init`` ask it.
    """
    from consortium.forecasts import store as _forecasts  # noqa: F401, PLC0415
    from consortium.governance import models as _governance  # noqa: F401, PLC0415
    from consortium.identity import details as _details  # noqa: F401, PLC0415
    from consortium.ledger import store as _ledger  # noqa: F401, PLC0415
    from consortium.membership import models as _membership  # noqa: F401, PLC0415
    from consortium.points import models as _points  # noqa: F401, PLC0415
    from consortium.policy import store as _policy  # noqa: F401, PLC0415

    engine = make_engine(database_url, durable=durable)
    if create_tables:
        create_schema(engine)
    return make_session_factory(engine)


def key_path(key_dir: Path) -> Path:
    """Where the coordinator key lives in ``key_dir``."""
    return Path(key_dir) / KEY_FILE


def _query_service(settings: ServiceSettings, coordinator: Signer) -> QueryService | None:
    if settings.eta_model_dir is None and settings.stock_model_dir is None:
        return None
    from consortium.forecasts.service import QueryService  # noqa: PLC0415  (imports torch)
    from consortium.forecasts.warehouse import LocalWarehouseAnswerer  # noqa: PLC0415

    answerer = None
    if settings.members_dir is not None:
        answerer = LocalWarehouseAnswerer.from_consortium_dir(settings.members_dir)
    return QueryService(
        coordinator=coordinator,
        eta_model_dir=settings.eta_model_dir,
        stock_model_dir=settings.stock_model_dir,
        answerer=answerer,
        settings=settings.settings,
    )


def load_state(
    settings: ServiceSettings,
    *,
    clock: Clock = SYSTEM_CLOCK,
    supernodes: SupernodeRegistry | None = None,
) -> ServiceState:
    """Open the stores and the coordinator key (``supernodes``: the SuperLink's key list).

    Raises
    ------
    KeyFileError
        The key file is missing or unreadable.
    ConfigError
        ``database_url`` is malformed, or the ledger was not started (run ``coordinator init``).
    """
    from consortium.ledger.store import ledger_size  # noqa: PLC0415

    coordinator = load_signer(key_path(settings.key_dir))
    factory = open_stores(settings.database_url, durable=True)  # receipts are signed promises
    with factory.begin() as session:
        if ledger_size(session) == 0:
            raise ConfigError("database_url", "no ledger there: run `consortium coordinator init`")
    logger.info("coordinator service with key %s", coordinator.key_id[:16])
    return ServiceState(
        settings=settings,
        factory=factory,
        coordinator=coordinator,
        clock=clock,
        queries=_query_service(settings, coordinator),
        supernodes=supernodes,
    )
