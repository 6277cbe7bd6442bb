"""Fixtures shared by every test package."""

from __future__ import annotations

import os

# The egress rule holds in tests too: no telemetry, no update checks.
os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# The real PostgreSQL server fixture (started on loopback; visible skip where it cannot be).
pytest_plugins = ["tests.postgres", "tests.store_fixtures"]
