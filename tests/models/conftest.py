"""Small, structured data sets built in memory (fixed seeds) for the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

# One intra-op thread: the test machines are shared, and oversubscribed threads are 20x slower.
torch.set_num_threads(1)


def make_legs(n: int, *, seed: int = 0) -> pd.DataFrame:
    """Return ``n`` labelled legs over 2024-2025; delay depends on carrier, lane, hour, wind."""
    rng = np.random.default_rng(seed)
    modes = np.array(["road", "rail", "sea", "air"])
    mode_idx = rng.integers(0, 4, n)
    carriers = np.array([f"C{i}" for i in range(8)])
    carrier_idx = rng.integers(0, 8, n)
    places = np.array([f"P{i:02d}" for i in range(12)])
    origin = rng.integers(0, 12, n)
    destination = (origin + rng.integers(1, 12, n)) % 12
    start = pd.Timestamp("2024-01-01", tz="UTC")
    dep = start + pd.to_timedelta(np.sort(rng.uniform(0, 730, n)), unit="D")
    dep = dep.round("min")
    distance = rng.uniform(50, 3000, n)
    speed = np.array([60.0, 50.0, 30.0, 600.0])[mode_idx]
    duration_h = distance / speed + 1.0
    arr = dep + pd.to_timedelta(duration_h, unit="h").round("min")
    wind = rng.gamma(2.0, 4.0, n)
    carrier_effect = np.linspace(-20, 60, 8)[carrier_idx]
    lane_effect = ((origin * 7 + destination * 3) % 11 - 5) * 8.0
    hour = dep.hour.to_numpy()
    rush = np.where((hour >= 7) & (hour <= 9), 25.0, 0.0)
    base = np.array([10.0, 20.0, 120.0, 15.0])[mode_idx]
    noise = rng.standard_t(3, n) * 10.0 * (1 + (mode_idx == 2) * 3)
    delay = base + carrier_effect + lane_effect + rush + 2.0 * wind + noise
    legs = pd.DataFrame(
        {
            "leg_id": [f"L{i}" for i in range(n)],
            "mode": modes[mode_idx],
            "carrier": carriers[carrier_idx],
            "origin": places[origin],
            "destination": places[destination],
            "scheduled_departure": dep,
            "scheduled_arrival": arr,
            "actual_departure": dep,
            "actual_arrival": arr + pd.to_timedelta(np.round(delay), unit="min"),
            "distance_km": distance,
            "cargo_type": np.where(rng.random(n) < 0.5, "general", "reefer"),
            "wind_speed": wind,
            "precipitation": rng.exponential(1.0, n),
            "visibility": rng.uniform(1, 10, n),
            "temperature": rng.normal(12, 8, n),
            "congestion_index": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
        }
    )
    return legs


@pytest.fixture(scope="session")
def legs() -> pd.DataFrame:
    """4 000 labelled legs ordered by scheduled departure."""
    return make_legs(4000, seed=0)
