"""Synthetic legs and stock rows with real structure, generated from a fixed seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

# (mode, origin, destination, distance km, scheduled hours, mean delay minutes)
_LANES = (
    ("road", "AAA", "BBB", 300.0, 5.0, -5.0),
    ("road", "AAA", "CCC", 500.0, 8.0, 40.0),
    ("road", "BBB", "CCC", 250.0, 4.0, 10.0),
    ("rail", "AAA", "DDD", 900.0, 20.0, 120.0),
    ("rail", "DDD", "EEE", 700.0, 16.0, 0.0),
    ("sea", "NLRTM", "SGSIN", 15000.0, 500.0, 600.0),
    ("sea", "SGSIN", "CNSHA", 3800.0, 120.0, 200.0),
    ("air", "FRA", "JFK", 6200.0, 9.0, 20.0),
)


def make_legs(n: int, *, seed: int) -> pd.DataFrame:
    """Legs whose delay depends on lane, carrier and congestion, plus noise."""
    rng = np.random.default_rng(seed)
    lane = rng.integers(0, len(_LANES), n)
    table = pd.DataFrame(_LANES, columns=["mode", "origin", "destination", "km", "hours", "mean"])
    chosen = table.iloc[lane].reset_index(drop=True)
    carrier = rng.choice(["C1", "C2", "C3"], n)
    congestion = rng.uniform(0.0, 1.0, n)
    delay = (
        chosen["mean"].to_numpy()
        + np.where(carrier == "C3", 45.0, 0.0)
        + 90.0 * congestion
        + rng.normal(0.0, 10.0, n)
    )
    start = pd.Timestamp("2024-01-01", tz="UTC")
    departure = start + pd.to_timedelta(np.sort(rng.uniform(0, 120 * 24, n)), "h").round("min")
    arrival = departure + pd.to_timedelta(chosen["hours"].to_numpy(), "h")
    return pd.DataFrame(
        {
            "leg_id": [f"L{i}" for i in range(n)],
            "mode": chosen["mode"].to_numpy(),
            "carrier": carrier,
            "origin": chosen["origin"].to_numpy(),
            "destination": chosen["destination"].to_numpy(),
            "scheduled_departure": departure,
            "scheduled_arrival": arrival,
            "actual_departure": departure,
            "actual_arrival": arrival + pd.to_timedelta(delay.round(), "min"),
            "distance_km": chosen["km"].to_numpy(),
            "cargo_type": rng.choice(["general", "reefer"], n),
            "wind_speed": rng.uniform(0.0, 20.0, n),
            "precipitation": rng.uniform(0.0, 5.0, n),
            "visibility": rng.uniform(1.0, 10.0, n),
            "temperature": rng.uniform(-5.0, 30.0, n),
            "congestion_index": congestion,
        }
    )


def make_stock(days: int, *, seed: int) -> pd.DataFrame:
    """Daily stock of four warehouses: a persistent level that now and then hits 0 or capacity."""
    rng = np.random.default_rng(seed)
    frames = []
    for number, capacity in enumerate((100.0, 150.0, 80.0, 120.0)):
        level, on_hand = capacity / 2.0, []
        for _ in range(days):
            level = 0.85 * level + 0.15 * capacity / 2.0 + rng.normal(0.0, 0.18 * capacity)
            level = float(np.clip(np.round(level), 0.0, 1.3 * capacity))
            on_hand.append(level)
        outbound = rng.poisson(8.0, days).astype(float)
        inbound = np.clip(np.diff(on_hand, prepend=capacity / 2.0) + outbound, 0.0, None)
        frames.append(
            pd.DataFrame(
                {
                    "warehouse_id": f"W{number}",
                    "date": pd.date_range("2024-01-01", periods=days),
                    "on_hand_units": on_hand,
                    "capacity_units": capacity,
                    "inbound_units": inbound,
                    "outbound_units": outbound,
                    "sku_group": np.nan,
                    "open_orders": rng.integers(0, 20, days).astype(float),
                    "lead_time_days": 3.0,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="session")
def synthetic_legs() -> pd.DataFrame:
    return make_legs(1600, seed=11)


@pytest.fixture(scope="session")
def synthetic_stock() -> pd.DataFrame:
    return make_stock(360, seed=5)
