"""Fixtures shared by every test package."""

from __future__ import annotations

import os

import pytest

# The egress rule holds in tests too: no telemetry, no update checks.
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# The real PostgreSQL server fixture (started on loopback; visible skip where it cannot be).
pytest_plugins = ["tests.postgres", "tests.store_fixtures"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hand out the files with slow tests (and the notebooks) first, keeping each file's order.

    ``make test`` runs files on pytest-xdist workers (``--dist loadfile --no-loadscope-reorder``:
    in collection order, not xdist's default of most tests first, which hands the long end-to-end
    files with few tests out last); a long file handed out last decides when the run ends.
    """
    slow = {i.path for i in items if i.get_closest_marker("slow") or i.path.suffix == ".ipynb"}
    items.sort(key=lambda item: item.path not in slow)  # stable: a file's tests stay in order
