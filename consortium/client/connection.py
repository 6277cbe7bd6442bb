"""The coordinator handle every client call is addressed to, and how to open one.

:func:`connect` opens the coordinator's stores in this process from a database URL (what the
dashboard and the demo do); :func:`with_query_service` adds what the coordinator answers paid
queries with (its key, the pooled models, the warehouses). This is the coordinator's own
machine (and the one-machine demo and tests); a member or cargo owner elsewhere uses
:class:`consortium.client.remote.RemoteCoordinator`, the same actions over the coordinator
service's URL, signed on its own machine.

Examples
--------
>>> from consortium.queries.ledger import ledger_ready
>>> coordinator = connect("sqlite://", create_tables=True)
>>> coordinator.read(ledger_ready)
False
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from consortium.db import create_schema, make_engine, make_session_factory
from consortium.errors import StoreUnavailable
from consortium.governance.clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:  # the forecast modules import torch: loaded only when queries are answered
    from consortium.forecasts.service import QueryService
    from consortium.forecasts.warehouse import LocalWarehouseAnswerer, WarehouseAnswerer
    from consortium.ledger.signing import Signer

__all__ = [
    "Coordinator",
    "ReadSession",
    "LocalWarehouseAnswerer",
    "connect",
    "load_warehouses",
    "with_query_service",
]

ReadSession = Session
"""What :meth:`Coordinator.reading` yields: pass it to :mod:`consortium.queries` projections."""

P = ParamSpec("P")
T = TypeVar("T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Coordinator:
    """A handle on the consortium's coordinator: pass it to :mod:`consortium.client` calls.

    Today it holds the coordinator's stores, opened in this process; later, the coordinator
    service's address. A UI gets one from :func:`connect` (or
    :func:`~consortium.client.demo.start_demo_consortium`), reads projections with
    :meth:`read` and acts through :mod:`consortium.client`.

    Parameters
    ----------
    factory
        Session factory of the coordinator's database: the in-process backing, used by
        :mod:`consortium.client` only.
    service
        What the coordinator answers paid queries with (:func:`with_query_service`); ``None``:
        this handle answers none.
    clock
        The coordinator's clock, which times every governance action (a client passes no time).

    Examples
    --------
    >>> from consortium.queries.ledger import ledger_ready
    >>> connect("sqlite://", create_tables=True).read(ledger_ready)
    False
    """

    factory: sessionmaker[Session] = field(repr=False)
    service: QueryService | None = field(default=None, repr=False)
    clock: Clock = field(default=SYSTEM_CLOCK, repr=False)

    def read(
        self,
        projection: Callable[Concatenate[Session, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Return ``projection(session, *args, **kwargs)`` read in one transaction.

        ``projection`` is a :mod:`consortium.queries` function; it returns frozen values or
        DataFrames, never ORM objects, so the result stays usable after the transaction.

        Raises
        ------
        StoreUnavailable
            The database cannot be opened or read (the driver's error type is named; its
            message, which may hold the URL, is logged only).
        """
        try:
            with self.factory.begin() as session:
                return projection(session, *args, **kwargs)
        except SQLAlchemyError as exc:
            logger.error("cannot read the coordinator database: %s", exc)
            raise StoreUnavailable(type(exc).__name__) from exc

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Read several :mod:`consortium.queries` projections in one transaction.

        For the coordinator's own read-only dashboard, which runs next to its database; a
        member's or cargo owner's UI uses :meth:`read`.
        """
        with self.factory.begin() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Open one write transaction: the in-process backing of :mod:`consortium.client`."""
        with self.factory.begin() as session:
            yield session


def _register_tables() -> None:
    """Import every module that defines tables, so ``create_schema`` knows them all."""
    from consortium.forecasts import store as _forecasts  # noqa: F401, PLC0415
    from consortium.governance import models as _governance  # noqa: F401, PLC0415
    from consortium.identity import details as _details  # noqa: F401, PLC0415
    from consortium.ledger import store as _ledger  # noqa: F401, PLC0415
    from consortium.membership import models as _membership  # noqa: F401, PLC0415
    from consortium.points import models as _points  # noqa: F401, PLC0415
    from consortium.policy import store as _policy  # noqa: F401, PLC0415


def connect(database_url: str, *, create_tables: bool = False) -> Coordinator:
    """Open the coordinator's stores at ``database_url`` (SQLite or PostgreSQL).

    Parameters
    ----------
    database_url
        SQLAlchemy URL of the coordinator database (``Settings.database_url``).
    create_tables
        Create the missing tables (a new demo or test database); otherwise the database is
        used as it is (a dashboard reads an existing one).

    Raises
    ------
    ConfigError
        If the URL is malformed or names another backend (the URL is not repeated).

    Examples
    --------
    >>> connect("sqlite://")
    Coordinator()
    """
    engine = make_engine(database_url)
    if create_tables:
        _register_tables()
        create_schema(engine)
    return Coordinator(factory=make_session_factory(engine))


def load_warehouses(members_dir: Path) -> LocalWarehouseAnswerer:
    """Load the warehouse members of a synthetic consortium folder, answering in this process.

    In the one-machine setup these stand in for the warehouses' own nodes.

    Raises
    ------
    ConfigError
        ``members`` when the folder holds no warehouse member.
    """
    from consortium.forecasts.warehouse import LocalWarehouseAnswerer  # noqa: PLC0415

    return LocalWarehouseAnswerer.from_consortium_dir(Path(members_dir))


def with_query_service(
    coordinator: Coordinator,
    *,
    coordinator_key: Signer,
    eta_model_dir: Path | None = None,
    stock_model_dir: Path | None = None,
    warehouses: WarehouseAnswerer | None = None,
) -> Coordinator:
    """Return ``coordinator`` answering paid queries with these models and warehouses.

    Parameters
    ----------
    coordinator
        The handle to extend.
    coordinator_key
        The coordinator's key; it signs the ledger entries of answered queries.
    eta_model_dir, stock_model_dir
        The pooled ETA model (with its lane catalog) and stock-risk model; ``None``: that kind
        of query is not offered.
    warehouses
        How warehouses are asked (:func:`load_warehouses`); needed for warehouse queries.
    """
    from consortium.forecasts.service import QueryService  # noqa: PLC0415  (imports torch)

    service = QueryService(
        coordinator=coordinator_key,
        eta_model_dir=eta_model_dir,
        stock_model_dir=stock_model_dir,
        answerer=warehouses,
    )
    return replace(coordinator, service=service)
