"""A tiny synthetic consortium with real pooled models, shared by the forecast tests.

The ETA and stock-risk models are trained once per session with the kit's own private training
(Opacus, ε = 8, three epochs) on every member's rows pooled, and the lane catalog is the sum of
every carrier's :func:`lane_sums` (what the federation's secure sum produces).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from consortium.data import load_table
from consortium.forecasts import store as _forecast_tables  # noqa: F401  (tables before `engine`)
from consortium.forecasts.catalog import LaneCatalog, lane_sums
from consortium.models.store import save_model
from consortium.points import models as _points_tables  # noqa: F401
from consortium.policy import store as _policy_tables  # noqa: F401
from consortium.privacy.training import train_local
from consortium.synth import generate_consortium

# One intra-op thread: the test machines are shared, and oversubscribed threads are 20x slower.
torch.set_num_threads(1)


@dataclass(frozen=True)
class Pool:
    """The synthetic consortium and the pooled models trained on it."""

    synth_dir: Path
    eta_dir: Path
    stock_dir: Path
    legs: dict[str, pd.DataFrame]
    stock: dict[str, pd.DataFrame]
    sums: np.ndarray

    @property
    def all_legs(self) -> pd.DataFrame:
        return pd.concat(list(self.legs.values()), ignore_index=True)


@pytest.fixture(scope="session")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Pool:
    root = tmp_path_factory.mktemp("forecast-pool")
    synth = root / "synth"
    generate_consortium(synth, seed=7, scale=0.02)
    members = json.loads((synth / "consortium.json").read_text())["members"]
    legs = {
        m["member_id"]: load_table(synth / m["file"], contract="legs", purpose="eta-training").frame
        for m in members
        if m["contract"] == "legs"
    }
    stock = {
        m["member_id"]: load_table(
            synth / m["file"], contract="stock", purpose="stock-training"
        ).frame
        for m in members
        if m["contract"] == "stock"
    }
    eta = train_local(
        pd.concat(list(legs.values()), ignore_index=True),
        kind="eta", epsilon=8.0, home=root / "home", epochs=3, seed=1,
    )  # fmt: skip
    save_model(eta.model, root / "eta", card=eta.card)
    sums = sum(
        (lane_sums(frame) for frame in legs.values()), np.zeros_like(lane_sums(legs["rhine-road"]))
    )
    LaneCatalog(sums).save(root / "eta")
    stock_model = train_local(
        pd.concat(list(stock.values()), ignore_index=True),
        kind="stock", epsilon=8.0, home=root / "home", epochs=3, seed=1,
    )  # fmt: skip
    save_model(stock_model.model, root / "stock", card=stock_model.card)
    return Pool(synth, root / "eta", root / "stock", legs, stock, sums)
