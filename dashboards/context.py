"""The dashboard's configuration and shared resources, resolved once and cached.

The dashboard runs in one of two modes:

* **on a member's or cargo owner's own machine**, as a client of the coordinator service:
  ``streamlit run dashboards/app.py -- --coordinator URL --pin KEYID [--ca FILE]``. It holds no
  database and no coordinator key; the actor picks its own key file on this machine for each
  action (it is read there, never uploaded, never written elsewhere), and every proposal, vote
  and paid query is signed here and sent to the service, whose receipts are checked against the
  pinned key. Every page reads through the service's read routes; the Ledger page fetches the
  entries and the signed tree head and verifies them here against the pinned key;
* **on the coordinator's machine** (its read-only public view), reading its database:
  ``streamlit run dashboards/app.py -- --db URL --models DIR --members DIR``
  ``--coordinator-key PATH``.

Where each setting comes from, first match wins:

1. command-line arguments after ``--`` (above);
2. ``st.secrets`` (``.streamlit/secrets.toml``): ``coordinator``, ``coordinator_pin``,
   ``coordinator_ca``, ``database_url``, ``models_dir``, ``members_dir``, ``coordinator_key``
   and ``coordinator_key_passphrase`` (the passphrase is read from secrets only, never from the
   command line, where other users could see it);
3. :func:`consortium.config.load_settings` (``CONSORTIUM_COORDINATOR``,
   ``CONSORTIUM_COORDINATOR_PIN``, ``CONSORTIUM_COORDINATOR_CA``, ``CONSORTIUM_DATABASE_URL``
   ... and the defaults).

``models_dir`` is the folder holding model directories (the demo's ``demo_output``, or a
federation's output); ``members_dir`` is a synthetic consortium folder whose warehouse members
answer warehouse queries in the one-machine setup; ``coordinator_key`` is the key that signs the
ledger entries of paid queries.

The database is reached only through the coordinator handle of :mod:`consortium.client`: pages
read :mod:`consortium.queries` projections with it and act through :mod:`consortium.client`;
the service through :class:`~consortium.client.remote.RemoteCoordinator`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from consortium.client import Coordinator, Signer, connect, load_key, with_query_service
from consortium.client.connection import load_warehouses
from consortium.client.remote import RemoteCoordinator
from consortium.config import Settings, load_settings
from consortium.errors import ConfigError, ConsortiumError
from consortium.queries.ledger import ledger_ready
from consortium.widgets.units import zone

if TYPE_CHECKING:
    from consortium.client.connection import LocalWarehouseAnswerer, ReadSession

logger = logging.getLogger(__name__)

SECRET_KEYS = ("database_url", "models_dir", "members_dir", "coordinator_key", "coordinator",
               "coordinator_pin", "coordinator_ca")  # fmt: skip


@dataclass(frozen=True)
class DashboardConfig:
    """Where the dashboard reads from (see the module docstring for the sources)."""

    database_url: str
    models_dir: Path | None = None
    members_dir: Path | None = None
    coordinator_key: Path | None = None
    coordinator: str | None = None
    coordinator_pin: str | None = None
    coordinator_ca: Path | None = None

    @property
    def through_service(self) -> bool:
        """Whether the dashboard is a client of the coordinator service (a URL is configured)."""
        return bool(self.coordinator)


def parse_args(argv: Sequence[str]) -> dict[str, str]:
    """Return the dashboard's options found in ``argv``; anything else is ignored.

    Examples
    --------
    >>> parse_args(["--db", "sqlite:///c.db", "--models", "demo_output", "-q"])
    {'database_url': 'sqlite:///c.db', 'models_dir': 'demo_output'}
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db", dest="database_url")
    parser.add_argument("--models", dest="models_dir")
    parser.add_argument("--members", dest="members_dir")
    parser.add_argument("--coordinator-key", dest="coordinator_key")
    parser.add_argument("--coordinator", dest="coordinator")
    parser.add_argument("--pin", dest="coordinator_pin")
    parser.add_argument("--ca", dest="coordinator_ca")
    known, _ = parser.parse_known_args(list(argv))
    return {key: value for key, value in vars(known).items() if value}


def _secrets() -> dict[str, str]:
    if not st.secrets.load_if_toml_exists():
        return {}
    return {key: str(st.secrets[key]) for key in SECRET_KEYS if key in st.secrets}


def _secret(key: str) -> str | None:
    if not st.secrets.load_if_toml_exists() or key not in st.secrets:
        return None
    return str(st.secrets[key])


@st.cache_resource(show_spinner=False)
def _settings() -> Settings:
    return load_settings()


def load_config() -> DashboardConfig:
    """Resolve the configuration from the arguments, the secrets and the settings.

    Raises
    ------
    ConfigError
        If the settings from the environment are invalid.
    """
    chosen = {**_secrets(), **parse_args(sys.argv[1:])}
    settings = _settings()
    database_url = chosen.get("database_url") or settings.database_url

    def path(key: str) -> Path | None:
        value = chosen.get(key) or getattr(settings, key, None)
        return None if value in (None, "") else Path(str(value)).expanduser()

    return DashboardConfig(
        database_url=database_url,
        models_dir=path("models_dir"),
        members_dir=path("members_dir"),
        coordinator_key=path("coordinator_key"),
        coordinator=chosen.get("coordinator") or settings.coordinator,
        coordinator_pin=chosen.get("coordinator_pin") or settings.coordinator_pin,
        coordinator_ca=path("coordinator_ca"),
    )


@st.cache_resource(show_spinner=False)
def coordinator_handle(database_url: str) -> Coordinator:
    """Return the handle on the coordinator's database (one engine per URL and process)."""
    return connect(database_url)


@st.cache_resource(show_spinner=False)
def service_handle(url: str, pin: str, ca_cert: str | None) -> RemoteCoordinator:
    """Return the client of the coordinator service at ``url`` (one per URL, pin and CA).

    It holds no key: each action loads the actor's key file when it signs.

    Raises
    ------
    VerificationError
        If ``pin`` is not a key id (at least 16 hex digits).
    """
    return RemoteCoordinator(url, pin=pin, ca_cert=None if ca_cert is None else Path(ca_cert))


@st.cache_resource(show_spinner="Loading the warehouses' stock data ...")
def warehouse_answerer(members_dir: str) -> LocalWarehouseAnswerer:
    """Return the warehouse members of ``members_dir``, answering in this process."""
    return load_warehouses(Path(members_dir))


@st.cache_resource(show_spinner=False)
def coordinator_signer(key_path: str) -> Signer:
    """Return the coordinator's key; its passphrase comes from ``st.secrets`` only."""
    return load_key(key_path, passphrase=_secret("coordinator_key_passphrase"))


@dataclass(frozen=True)
class DashboardContext:
    """What a page needs: the configuration and the coordinator handle (or service client).

    On the coordinator's machine ``coordinator`` reads its database; on a member's or cargo
    owner's machine ``remote`` is the coordinator service and ``coordinator`` is ``None``.
    """

    config: DashboardConfig
    coordinator: Coordinator | None
    remote: RemoteCoordinator | None = None

    @contextmanager
    def session(self) -> Iterator[ReadSession]:
        """Read several :mod:`consortium.queries` projections in one transaction.

        Raises
        ------
        ConfigError
            On a client of the coordinator service (it has no database).
        """
        if self.coordinator is None:
            raise ConfigError("database_url", "this dashboard reads through the coordinator "
                                              "service, not a database")  # fmt: skip
        with self.coordinator.reading() as session:
            yield session

    def service(self) -> RemoteCoordinator:
        """Return the coordinator service client.

        Raises
        ------
        ConfigError
            On the coordinator's own view (no ``--coordinator URL``).
        """
        if self.remote is None:
            raise ConfigError("coordinator", "pass --coordinator URL --pin KEYID to act")
        return self.remote

    @staticmethod
    def now() -> datetime:
        """Return the current time (tz-aware UTC); proposal states are computed at it."""
        return datetime.now(UTC)

    def model_dir(self, kind: str) -> Path | None:
        """Return the pooled (federated) model directory of ``kind``, if any."""
        from consortium.queries.models import pooled_model_dir

        if self.config.models_dir is None:
            return None
        return pooled_model_dir(self.config.models_dir, kind=kind)

    @staticmethod
    def viewer_zone() -> tzinfo:
        """Return the viewer's time zone (the browser's), UTC when it is not known."""
        return zone(st.context.timezone)

    def warehouses(self) -> LocalWarehouseAnswerer | None:
        """Return the warehouses answering queries in this process (``None`` without members)."""
        members = self.config.members_dir
        return warehouse_answerer(str(members)) if members else None

    def warehouse_ids(self) -> list[str]:
        """Return the warehouses answering queries in this process (none without members)."""
        members = self.config.members_dir
        return sorted(warehouse_answerer(str(members)).members) if members else []

    def answering_coordinator(self) -> Coordinator:
        """Return the coordinator answering paid queries from the pooled models and warehouses.

        Raises
        ------
        ConfigError
            If no coordinator key is configured.
        KeyFileError
            If the key cannot be loaded (missing file, wrong passphrase).
        """
        if self.coordinator is None or self.config.coordinator_key is None:
            raise ConfigError(
                "coordinator_key",
                "paid queries need the coordinator's key: pass --coordinator-key PATH or set "
                "coordinator_key in the secrets",
            )
        stock_dir = self.model_dir("stock")
        members = self.config.members_dir
        return with_query_service(
            self.coordinator,
            coordinator_key=coordinator_signer(str(self.config.coordinator_key)),
            eta_model_dir=self.model_dir("eta"),
            stock_model_dir=stock_dir,
            warehouses=warehouse_answerer(str(members)) if members and stock_dir else None,
        )


def dashboard_context() -> DashboardContext:
    """Return the page context, or show why there is none and stop the page.

    Every page works both ways: with ``remote`` set it reads (and acts) through the coordinator
    service, else it reads the coordinator's database.
    """
    try:
        config = load_config()
    except ConsortiumError as exc:
        st.error(f"The dashboard cannot start: {exc.diagnostics()}")
        st.stop()
    if config.through_service:
        return _service_context(config)
    try:
        coordinator = coordinator_handle(config.database_url)
        ready = coordinator.read(ledger_ready)
    except ConsortiumError as exc:
        st.error(f"The dashboard cannot start: {exc.diagnostics()}")
        st.stop()
    if not ready:
        st.warning(
            "The coordinator database holds no ledger yet. Start one with "
            "`consortium coordinator init`, or point the dashboard at another database with "
            "`-- --db URL` (or at the coordinator service with `-- --coordinator URL --pin KEYID`)."
        )
        st.stop()
    return DashboardContext(config=config, coordinator=coordinator)


def _service_context(config: DashboardConfig) -> DashboardContext:
    url = str(config.coordinator)
    try:
        if not config.coordinator_pin:
            raise ConfigError("--pin", "give the coordinator key id you pinned (--pin KEYID, or "
                                       "CONSORTIUM_COORDINATOR_PIN)")  # fmt: skip
        ca = None if config.coordinator_ca is None else str(config.coordinator_ca)
        if ca is not None and not Path(ca).is_file():
            raise ConfigError("--ca", f"no such file: {ca}")
        remote = service_handle(url, config.coordinator_pin, ca)
        remote.head()  # the pinned key signed it, and it extends the last head seen
    except ConsortiumError as exc:
        st.error(f"The coordinator service at {url} cannot be used: {exc.diagnostics()}")
        st.stop()
    return DashboardContext(config=config, coordinator=None, remote=remote)
