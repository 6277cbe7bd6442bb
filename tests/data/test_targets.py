from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consortium.data.targets import (
    STOCK_FEATURE_COLUMNS,
    delay_minutes,
    on_time,
    stock_history_features,
    stock_targets,
    time_split,
)
from consortium.errors import ConfigError


def _legs(scheduled: list[str], actual: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "scheduled_arrival": pd.to_datetime(scheduled, utc=True),
            "actual_arrival": pd.to_datetime(actual, utc=True),
        },
        index=[10 + i for i in range(len(scheduled))],
    )


def _stock(on_hand: list[float], *, capacity: float = 10.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "warehouse_id": "W1",
            "date": pd.date_range("2024-01-01", periods=len(on_hand)),
            "on_hand_units": on_hand,
            "capacity_units": capacity,
        }
    )


def _random_stock(rng: np.random.Generator, days: int = 60) -> pd.DataFrame:
    frames = []
    for warehouse in ("W1", "W2"):
        for sku in ("A", np.nan):
            frames.append(
                pd.DataFrame(
                    {
                        "warehouse_id": warehouse,
                        "sku_group": sku,
                        "date": pd.date_range("2024-01-01", periods=days),
                        "on_hand_units": rng.integers(0, 15, days).astype(float),
                        "capacity_units": 12.0,
                        "inbound_units": rng.integers(0, 6, days).astype(float),
                        "outbound_units": rng.integers(0, 6, days).astype(float),
                        "open_orders": rng.integers(0, 9, days).astype(float),
                        "lead_time_days": 3.0,
                    }
                )
            )
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)


def test_delay_minutes_is_actual_minus_scheduled_and_keeps_index():
    # Prepare
    legs = _legs(
        ["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-01 10:00"],
        ["2024-01-01 11:30", "2024-01-01 09:45", None],
    )

    # Execute
    delay = delay_minutes(legs)

    # Assert
    assert delay.index.tolist() == [10, 11, 12]
    assert delay.iloc[:2].tolist() == [90.0, -15.0]
    assert np.isnan(delay.iloc[2])


def test_on_time_counts_early_and_within_tolerance_as_on_time():
    # Prepare
    legs = _legs(
        ["2024-01-01 10:00"] * 4,
        ["2024-01-01 09:00", "2024-01-01 10:15", "2024-01-01 10:16", "2024-01-01 12:00"],
    )

    # Execute
    punctual = on_time(legs, tolerance_minutes=15)

    # Assert
    assert punctual.tolist() == [True, True, False, False]
    assert punctual.dtype == bool


def test_on_time_rejects_unlabelled_legs_and_negative_tolerance():
    # Prepare
    legs = _legs(["2024-01-01 10:00"], [None])

    # Execute / Assert
    with pytest.raises(ConfigError) as missing:
        on_time(legs, tolerance_minutes=15)
    with pytest.raises(ConfigError) as negative:
        on_time(legs, tolerance_minutes=-1)
    assert missing.value.name == "legs"
    assert negative.value.name == "tolerance_minutes"


def test_stock_targets_flag_events_in_the_next_days_only():
    # Prepare: a stock-out on day 3 and an overflow on day 5 (0-based)
    stock = _stock([5.0, 4.0, 3.0, 0.0, 6.0, 11.0, 7.0])

    # Execute
    targets = stock_targets(stock, horizon_days=2)

    # Assert
    assert targets["stockout"].tolist()[:5] == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert targets["overflow"].tolist()[:5] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert targets.iloc[5:].isna().all().all()


def test_stock_targets_are_nan_when_a_day_in_the_horizon_is_missing():
    # Prepare: day 2024-01-03 is absent
    stock = _stock([5.0, 0.0, 3.0, 4.0, 5.0]).drop(index=2)

    # Execute
    targets = stock_targets(stock, horizon_days=2)

    # Assert: rows dated 01-01 and 01-02 need 01-03; 01-04 has 01-05 and 01-06 missing
    assert targets.index.tolist() == [0, 1, 3, 4]
    assert targets["stockout"].isna().tolist() == [True, True, True, True]
    assert stock_targets(stock, horizon_days=1)["stockout"].tolist()[:1] == [1.0]


def test_stock_targets_keep_series_apart_and_follow_the_input_order():
    # Prepare: two SKU groups of one warehouse, rows shuffled; only group B runs out
    a = _stock([5.0, 5.0, 5.0]).assign(sku_group="A")
    b = _stock([5.0, 0.0, 5.0]).assign(sku_group="B")
    stock = pd.concat([a, b], ignore_index=True).iloc[[5, 0, 3, 2, 4, 1]]

    # Execute
    targets = stock_targets(stock, horizon_days=1)

    # Assert
    assert targets.index.tolist() == [5, 0, 3, 2, 4, 1]
    assert targets["stockout"].fillna(-1).tolist() == [-1.0, 0.0, 1.0, -1.0, 0.0, 0.0]


def test_stock_targets_reject_a_non_positive_horizon():
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        stock_targets(_stock([1.0]), horizon_days=0)
    assert error.value.name == "horizon_days"


def test_stock_history_features_match_hand_computed_values():
    # Prepare
    stock = _stock([4.0, 0.0, 12.0], capacity=8.0).assign(
        inbound_units=[0.0, 0.0, 12.0],
        outbound_units=[2.0, 4.0, 0.0],
        open_orders=[6.0, 6.0, 6.0],
        lead_time_days=[3.0, 3.0, 3.0],
    )

    # Execute
    features = stock_history_features(stock)

    # Assert
    last = features.iloc[2]
    assert list(features.columns) == list(STOCK_FEATURE_COLUMNS)
    assert (features.dtypes == np.float64).all()
    assert last["utilisation"] == 1.5
    assert last["outbound_mean_7d"] == 2.0
    assert last["outbound_std_7d"] == 2.0
    assert last["days_of_cover_7d"] == 6.0
    assert last["open_orders_to_outbound"] == 3.0
    assert last["net_flow"] == 12.0
    assert last["on_hand_change_1d"] == 12.0
    assert np.isnan(last["on_hand_change_7d"])
    assert features["stockout_last_28d"].tolist() == [0.0, 1.0, 1.0]
    assert features["overflow_last_28d"].tolist() == [0.0, 0.0, 1.0]
    assert last["day_of_week"] == 2.0  # 2024-01-03 is a Wednesday
    assert last["month"] == 1.0


def test_stock_history_features_never_read_later_rows():
    # Prepare
    rng = np.random.default_rng(7)
    stock = _random_stock(rng)
    cutoff = pd.Timestamp("2024-02-01")
    later = stock["date"] > cutoff
    changed = stock.copy()
    for column in ("on_hand_units", "inbound_units", "outbound_units", "open_orders"):
        changed.loc[later, column] = rng.integers(0, 500, int(later.sum())).astype(float)
    truncated = stock.loc[~later]

    # Execute
    original = stock_history_features(stock)
    after_change = stock_history_features(changed)
    after_truncation = stock_history_features(truncated)

    # Assert
    pd.testing.assert_frame_equal(original.loc[~later], after_change.loc[~later])
    pd.testing.assert_frame_equal(original.loc[~later], after_truncation)
    assert not original.loc[later].equals(after_change.loc[later])


def test_time_split_orders_parts_in_time_and_keeps_ties_together():
    # Prepare: 40 rows over 20 distinct times, shuffled
    times = pd.date_range("2024-01-01", periods=20, freq="D", tz="UTC").repeat(2)
    frame = pd.DataFrame({"t": times, "x": np.arange(40)}).sample(frac=1.0, random_state=2)

    # Execute
    split = time_split(frame, time_column="t", valid_fraction=0.2, test_fraction=0.3)

    # Assert
    assert split.train["t"].max() < split.valid["t"].min()
    assert split.valid["t"].max() < split.test["t"].min()
    assert (len(split.train), len(split.valid), len(split.test)) == (20, 8, 12)
    assert sorted(pd.concat([split.train, split.valid, split.test])["x"]) == list(range(40))


@pytest.mark.parametrize(
    ("valid_fraction", "test_fraction", "name"),
    [
        (0.0, 0.2, "valid_fraction"),
        (0.2, 1.0, "test_fraction"),
        (0.5, 0.5, "test_fraction"),
    ],
)
def test_time_split_rejects_bad_fractions(valid_fraction, test_fraction, name):
    # Prepare
    frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=10)})

    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        time_split(
            frame, time_column="t", valid_fraction=valid_fraction, test_fraction=test_fraction
        )
    assert error.value.name == name


def test_time_split_rejects_an_empty_part():
    # Prepare: all rows share one time, so nothing can come before the test cut
    frame = pd.DataFrame({"t": pd.to_datetime(["2024-01-01"] * 10, utc=True)})

    # Execute / Assert
    with pytest.raises(ConfigError, match="empty part"):
        time_split(frame, time_column="t")
