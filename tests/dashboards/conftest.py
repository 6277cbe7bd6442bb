"""Fixtures of the dashboard tests: a filled SQLite coordinator database and AppTest runners.

Configuration reaches the pages through ``at.secrets`` (never a real ``secrets.toml``), exactly
as ``.streamlit/secrets.toml`` would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from consortium.config import REPO_ROOT
from tests.queries.world import PASSPHRASE, Models, World, build_world, shared_models

VIEWS = REPO_ROOT / "dashboards" / "views"
RUN_TIMEOUT_S = 60  # the first run imports torch and the models


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return shared_models(tmp_path_factory)


@pytest.fixture(scope="session")
def world(models: Models, tmp_path_factory: pytest.TempPathFactory) -> World:
    """A filled coordinator database that the read-only page tests share."""
    root = tmp_path_factory.mktemp("dashboard-world")
    return build_world(f"sqlite:///{root / 'coordinator.db'}", models, root)


@pytest.fixture
def fresh_world(models: Models, tmp_path: Path) -> World:
    """A filled coordinator database of the test's own (for pages that write)."""
    return build_world(f"sqlite:///{tmp_path / 'coordinator.db'}", models, tmp_path)


def configure(at: AppTest, world: World, *, members: bool = False) -> AppTest:
    """Give ``at`` the dashboard's configuration for ``world`` through its secrets."""
    at.secrets["database_url"] = world.url
    at.secrets["models_dir"] = str(world.models.root)
    at.secrets["coordinator_key"] = str(world.coordinator_key)
    at.secrets["coordinator_key_passphrase"] = PASSPHRASE
    if members:
        at.secrets["members_dir"] = str(world.models.synth_dir)
    return at


@pytest.fixture
def page() -> Callable[..., AppTest]:
    """Run one page of the dashboard against a world: ``page("ledger", world)``."""

    def run(name: str, world: World, *, members: bool = False) -> AppTest:
        at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=RUN_TIMEOUT_S)
        configure(at, world, members=members).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run
