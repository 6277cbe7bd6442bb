"""The dashboard's configuration and shared resources, resolved once and cached.

Where each setting comes from, first match wins:

1. command-line arguments after ``--``:
   ``streamlit run dashboards/app.py -- --db URL --models DIR --members DIR``
   ``--coordinator-key PATH``;
2. ``st.secrets`` (``.streamlit/secrets.toml``): ``database_url``, ``models_dir``,
   ``members_dir``, ``coordinator_key`` and ``coordinator_key_passphrase`` (the passphrase is
   read from secrets only, never from the command line, where other users could see it);
3. :func:`consortium.config.load_settings` (``CONSORTIUM_DATABASE_URL`` ... and the defaults).

``models_dir`` is the folder holding model directories (the demo's ``demo_output``, or a
federation's output); ``members_dir`` is a synthetic consortium folder whose warehouse members
answer warehouse queries in the one-machine setup; ``coordinator_key`` is the key that signs the
ledger entries of paid queries.

The database is reached only through the coordinator handle of :mod:`consortium.client`: pages
read :mod:`consortium.queries` projections with it and act through :mod:`consortium.client`.
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
from consortium.config import Settings, load_settings
from consortium.errors import ConfigError, ConsortiumError
from consortium.queries.ledger import ledger_ready
from consortium.widgets.units import zone

if TYPE_CHECKING:
    from consortium.client.connection import LocalWarehouseAnswerer, ReadSession

logger = logging.getLogger(__name__)

SECRET_KEYS = ("database_url", "models_dir", "members_dir", "coordinator_key")


@dataclass(frozen=True)
class DashboardConfig:
    """Where the dashboard reads from (see the module docstring for the sources)."""

    database_url: str
    models_dir: Path | None = None
    members_dir: Path | None = None
    coordinator_key: Path | None = None


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
    )


@st.cache_resource(show_spinner=False)
def coordinator_handle(database_url: str) -> Coordinator:
    """Return the handle on the coordinator's database (one engine per URL and process)."""
    return connect(database_url)


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
    """What a page needs: the configuration and the coordinator handle."""

    config: DashboardConfig
    coordinator: Coordinator

    @contextmanager
    def session(self) -> Iterator[ReadSession]:
        """Read several :mod:`consortium.queries` projections in one transaction."""
        with self.coordinator.reading() as session:
            yield session

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
        if self.config.coordinator_key is None:
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
    """Return the page context, or show why there is none and stop the page."""
    try:
        config = load_config()
        coordinator = coordinator_handle(config.database_url)
        ready = coordinator.read(ledger_ready)
    except ConsortiumError as exc:
        st.error(f"The dashboard cannot start: {exc.diagnostics()}")
        st.stop()
    if not ready:
        st.warning(
            "The coordinator database holds no ledger yet. Start one with the `consortium` CLI, "
            "or point the dashboard at another database with `-- --db URL`."
        )
        st.stop()
    return DashboardContext(config=config, coordinator=coordinator)
