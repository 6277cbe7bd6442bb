"""Fixtures of the federation tests: a small consortium of toy members on the local grid."""

from __future__ import annotations

import os

os.environ.setdefault("FLWR_TELEMETRY_ENABLED", "0")
os.environ.setdefault("FLWR_DISABLE_UPDATE_CHECK", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from consortium.federation.local_grid import LocalGrid  # noqa: E402

torch.set_num_threads(1)

MEMBERS = [f"m{i}" for i in range(5)]


def member_nodes(n: int = 5, **extra: dict[str, str]) -> dict[str, dict[str, str]]:
    """Node configs ``{"member-id": mi}``, plus per-member extras (``m2={"corrupt": "shape"}``)."""
    nodes = {f"m{i}": {"member-id": f"m{i}", "data-path": f"/data/m{i}"} for i in range(n)}
    for member, cfg in extra.items():
        nodes[member].update(cfg)
    return nodes


def last_update(grid: LocalGrid, member: str) -> tuple[list[NDArray[np.generic]], int]:
    """The plaintext update a member computed (read from its own context: test-only access)."""
    state = grid.context_of(member).state
    arrays = state.array_records["toy.last-update"].to_numpy_ndarrays()
    return arrays, int(state.metric_records["toy.num-examples"]["n"])


def weighted_fedavg(
    start: list[NDArray[np.generic]], grid: LocalGrid, members: list[str]
) -> list[NDArray[np.float64]]:
    """Plain weighted FedAvg of the members' updates, added to ``start`` (the reference)."""
    updates = [last_update(grid, m) for m in members]
    total = sum(n for _, n in updates)
    return [
        start[i] + sum(u[i].astype(np.float64) * n for u, n in updates) / total
        for i in range(len(start))
    ]


@pytest.fixture
def run_config() -> dict[str, bool | int | float]:
    return {"secure": True, "rounds": 1, "clipping-range": 8.0, "max-weight": 100.0}
