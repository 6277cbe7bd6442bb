"""The data holds the structure a model should find and a naive mean cannot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consortium.synth import ConsortiumSummary, plan_consortium
from consortium.synth.members import WAREHOUSES

HORIZON_DAYS = 7


def _within_horizon(event: np.ndarray) -> np.ndarray:
    """Whether the event happens on one of the next HORIZON_DAYS days."""
    ahead = pd.Series(event[::-1].astype(float)).rolling(HORIZON_DAYS, min_periods=1).max()
    return np.r_[ahead.to_numpy()[::-1][1:], 0.0] > 0


@pytest.mark.parametrize("member_id", ["meridian-line", "rhine-road", "silk-corridor-rail"])
def test_lane_median_beats_global_mean_on_the_later_year(
    legs: dict[str, pd.DataFrame], member_id: str
) -> None:
    # Prepare
    frame = legs[member_id]
    past = frame[frame["scheduled_departure"] < pd.Timestamp("2025-01-01", tz="UTC")]
    later = frame[frame["scheduled_departure"] >= pd.Timestamp("2025-01-01", tz="UTC")]

    # Execute
    lane_median = past.groupby(["origin", "destination"])["delay_h"].median()
    keys = pd.MultiIndex.from_frame(later[["origin", "destination"]])
    by_lane = lane_median.reindex(keys).fillna(past["delay_h"].median()).to_numpy()
    mae_lane = np.abs(later["delay_h"].to_numpy() - by_lane).mean()
    mae_mean = np.abs(later["delay_h"] - past["delay_h"].mean()).mean()

    # Assert
    assert mae_lane < 0.9 * mae_mean


def test_delays_are_heavy_tailed_and_sea_spread_dwarfs_air(legs: dict[str, pd.DataFrame]) -> None:
    # Prepare: each leg's delay relative to its lane's median
    members = ("meridian-line", "aurora-air", "rhine-road")
    excess = {
        m: legs[m]["delay_h"]
        - legs[m].groupby(["origin", "destination"])["delay_h"].transform("median")
        for m in members
    }

    # Execute
    q = {m: e.quantile([0.25, 0.5, 0.75, 0.99]) for m, e in excess.items()}
    iqr = {m: v[0.75] - v[0.25] for m, v in q.items()}

    # Assert: the 1 % tail reaches far beyond a normal's (where it is 1.7 IQR past the median)
    for m, v in q.items():
        assert v[0.99] - v[0.5] > 3.5 * iqr[m], m
    assert iqr["meridian-line"] > 8 * iqr["aurora-air"]


def test_road_departures_avoid_sundays_and_rush_hours_run_later(
    legs: dict[str, pd.DataFrame],
) -> None:
    # Prepare
    road = legs["rhine-road"]
    local = road["scheduled_departure"].dt.tz_convert("Europe/Berlin")
    lane_median = road.groupby(["origin", "destination"])["delay_h"].transform("median")
    excess = road["delay_h"] - lane_median

    # Execute
    sunday_share = (local.dt.day_of_week == 6).mean()
    rush = excess[local.dt.hour.isin([6, 7, 8])].mean()
    night = excess[(local.dt.hour >= 22) | (local.dt.hour <= 3)].mean()

    # Assert
    assert sunday_share < 0.02
    assert rush > night + 0.2


def test_two_members_report_the_same_hub_congestion(legs: dict[str, pd.DataFrame]) -> None:
    # Prepare
    def by_hub_day(frame: pd.DataFrame) -> pd.Series:
        day = frame["scheduled_departure"].dt.strftime("%Y-%m-%d")
        return frame.groupby([frame["origin"], day])["congestion_index"].mean()

    # Execute
    joined = pd.concat(
        [by_hub_day(legs["rhine-road"]), by_hub_day(legs["silk-corridor-rail"])], axis=1, sort=True
    ).dropna()

    # Assert
    assert len(joined) > 100
    assert joined.corr().iloc[0, 1] > 0.8


def test_one_members_congestion_reading_predicts_anothers_delays(
    legs: dict[str, pd.DataFrame],
) -> None:
    # Prepare
    road, rail = legs["rhine-road"], legs["silk-corridor-rail"]
    lane = road.groupby(["origin", "destination"])["delay_h"]
    road_excess = (road["delay_h"] - lane.transform("median")) / lane.transform(
        lambda d: d.quantile(0.75) - d.quantile(0.25)
    )

    # Execute
    rail_key = [rail["origin"], rail["scheduled_departure"].dt.strftime("%Y-%m-%d")]
    road_key = [road["origin"], road["scheduled_departure"].dt.strftime("%Y-%m-%d")]
    joined = pd.concat(
        [rail.groupby(rail_key)["congestion_index"].mean(), road_excess.groupby(road_key).mean()],
        axis=1,
        sort=True,
    ).dropna()

    # Assert
    assert len(joined) > 100
    assert joined.corr(method="spearman").iloc[0, 1] > 0.2


def test_late_inbound_legs_raise_warehouse_stock_outs(
    legs: dict[str, pd.DataFrame], stock: dict[str, pd.DataFrame]
) -> None:
    # Prepare: a leg is late when it is in its lane's slowest quarter
    arrivals = pd.concat(list(legs.values()), ignore_index=True)
    q3 = arrivals.groupby(["origin", "destination"])["delay_h"].transform(
        lambda d: d.quantile(0.75)
    )
    arrivals["late"] = arrivals["delay_h"] > q3
    start = pd.Timestamp("2024-01-01", tz="UTC")
    arrivals["week"] = (arrivals["scheduled_arrival"] - start).dt.days // 7

    # Execute: stock-out share this week and next, in the latest quarter of weeks vs the rest
    high, low = [], []
    for spec in WAREHOUSES:
        frame = stock[spec.member_id]
        week = (pd.to_datetime(frame["date"]) - start.tz_localize(None)).dt.days // 7
        stock_out = (frame["on_hand_units"] == 0).groupby(week).mean()
        soon = (stock_out + stock_out.shift(-1).fillna(0.0)) / 2
        inbound = arrivals[arrivals["destination"] == spec.location]
        lateness = inbound.groupby("week")["late"].mean().reindex(soon.index).fillna(0.0)
        worst = lateness >= lateness.quantile(0.75)
        high.append(soon[worst].mean())
        low.append(soon[~worst].mean())

    # Assert
    assert np.mean(high) > 1.5 * np.mean(low)


def test_stock_outs_and_overflows_are_rare_but_present(stock: dict[str, pd.DataFrame]) -> None:
    # Execute
    rates = []
    for frame in stock.values():
        for _, group in frame.groupby("sku_group"):
            out = _within_horizon((group["on_hand_units"] == 0).to_numpy())
            over = _within_horizon((group["on_hand_units"] > group["capacity_units"]).to_numpy())
            rates.append((out.mean(), over.mean()))
    stock_out, overflow = np.mean(rates, axis=0)

    # Assert
    assert 0.01 < stock_out < 0.2
    assert 0.01 < overflow < 0.2


def test_members_see_different_feature_mixes(legs: dict[str, pd.DataFrame]) -> None:
    # Execute
    cargo = {m: set(f["cargo_type"]) for m, f in legs.items()}
    hubs = {m: set(f["origin"]) | set(f["destination"]) for m, f in legs.items()}
    carriers = {m: set(f["carrier"]) for m, f in legs.items()}

    # Assert: non-IID members that still share some hubs (where pooling helps)
    assert cargo["meridian-line"].isdisjoint(cargo["rhine-road"])
    assert hubs["meridian-line"] != hubs["rhine-road"]
    assert {"NLRTM", "DEHAM"} <= hubs["meridian-line"] & hubs["rhine-road"] & hubs[
        "silk-corridor-rail"
    ]
    assert all(len(c) == 1 for c in carriers.values())
    assert len(set().union(*carriers.values())) == len(carriers)


def test_the_fixture_is_the_planned_size(consortium: ConsortiumSummary) -> None:
    # Assert
    assert consortium.total_rows == sum(p.rows for p in plan_consortium(scale=0.1))
