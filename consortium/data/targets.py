"""Labels, past-only stock features and the time split shared by every ETA and stock-risk model.

Pure pandas/numpy: no model, no I/O. Stock rows are ordered per series, one series being a
``warehouse_id`` plus ``sku_group`` pair (a missing ``sku_group``, or no such column, is one
group). Windows are in calendar days, so a missing day is a gap, never the previous row.
All window sums run through one vectorised primitive (a per-series cumulative sum looked up with
``searchsorted``), which keeps 100k rows in milliseconds and makes the past-only features exact:
a sum at day ``t`` only ever reads rows of the same series up to ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from consortium.errors import ConfigError

#: Columns of :func:`stock_history_features`, in order.
STOCK_FEATURE_COLUMNS: tuple[str, ...] = (
    "utilisation",
    "days_of_cover_7d",
    "days_of_cover_28d",
    "outbound_mean_7d",
    "outbound_mean_28d",
    "outbound_std_7d",
    "outbound_std_28d",
    "inbound_mean_7d",
    "inbound_mean_28d",
    "inbound_std_7d",
    "inbound_std_28d",
    "net_flow",
    "on_hand_change_1d",
    "on_hand_change_7d",
    "open_orders_to_outbound",
    "lead_time_days",
    "stockout_last_28d",
    "overflow_last_28d",
    "day_of_week",
    "month",
)
_LONG_WINDOW_DAYS = 28


def delay_minutes(legs: pd.DataFrame) -> pd.Series:
    """Return the arrival delay in minutes: ``actual_arrival - scheduled_arrival``.

    Early arrivals are negative; legs without ``actual_arrival`` give NaN.

    Examples
    --------
    >>> legs = pd.DataFrame({
    ...     "scheduled_arrival": pd.to_datetime(["2024-01-01 10:00"], utc=True),
    ...     "actual_arrival": pd.to_datetime(["2024-01-01 10:30"], utc=True)})
    >>> delay_minutes(legs).tolist()
    [30.0]
    """
    delta = legs["actual_arrival"] - legs["scheduled_arrival"]
    return (delta.dt.total_seconds() / 60.0).astype("float64").rename("delay_minutes")


def on_time(legs: pd.DataFrame, *, tolerance_minutes: int) -> pd.Series:
    """Return whether each leg arrived no later than ``tolerance_minutes`` after schedule.

    Early arrivals count as on time.

    Raises
    ------
    ConfigError
        ``tolerance_minutes`` is negative, or a leg has no ``actual_arrival`` (keep the labelled
        rows only: ``legs[legs["actual_arrival"].notna()]``).

    Examples
    --------
    >>> legs = pd.DataFrame({
    ...     "scheduled_arrival": pd.to_datetime(["2024-01-01 10:00"] * 2, utc=True),
    ...     "actual_arrival": pd.to_datetime(["2024-01-01 10:15", "2024-01-01 10:16"], utc=True)})
    >>> on_time(legs, tolerance_minutes=15).tolist()
    [True, False]
    """
    if tolerance_minutes < 0:
        raise ConfigError("tolerance_minutes", "must be zero or positive")
    delay = delay_minutes(legs)
    missing = int(delay.isna().sum())
    if missing:
        raise ConfigError("legs", f"{missing} legs have no actual_arrival; on-time is undefined")
    return (delay <= tolerance_minutes).rename("on_time")


@dataclass(frozen=True)
class _Timeline:
    """Stock rows sorted by (series, day), with a key that orders both at once."""

    order: np.ndarray  # positions of the frame's rows in sorted order
    key: np.ndarray  # series * span + day, ascending
    series: np.ndarray  # series code of each sorted row


def _day_numbers(dates: pd.Series) -> np.ndarray:
    if dates.isna().any():
        raise ConfigError("stock", "column 'date' has missing values")
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(dates.to_numpy().astype("datetime64[D]").astype(np.int64))


def _timeline(stock: pd.DataFrame, *, reach_days: int) -> _Timeline:
    days = _day_numbers(stock["date"])
    columns = [c for c in ("warehouse_id", "sku_group") if c in stock.columns]
    series = stock.groupby(columns, dropna=False, sort=False).ngroup().to_numpy(np.int64)
    if len(days) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Timeline(order=empty, key=empty, series=empty)
    first = int(days.min())
    span = int(days.max()) - first + reach_days + 1  # windows never reach another series
    key = series * span + (days - first)
    order = np.argsort(key, kind="stable")
    return _Timeline(order=order, key=key[order], series=series[order])


def _window_sum(line: _Timeline, values: np.ndarray, *, start: int, end: int) -> np.ndarray:
    """Per sorted row at day t: sum of ``values`` over its series' rows dated t+start..t+end."""
    if len(values) == 0:
        return np.zeros(0)
    lo = np.searchsorted(line.key, line.key + start, side="left")
    hi = np.searchsorted(line.key, line.key + end, side="right")
    inclusive = pd.Series(values).groupby(line.series).cumsum().to_numpy(np.float64)
    exclusive = inclusive - values
    last = np.maximum(hi - 1, 0)
    first = np.minimum(lo, len(values) - 1)
    return np.where(hi > lo, inclusive[last] - exclusive[first], 0.0)


def _window_mean_std(
    line: _Timeline, values: np.ndarray, *, days: int
) -> tuple[np.ndarray, np.ndarray]:
    known = ~np.isnan(values)
    filled = np.where(known, values, 0.0)
    n = _window_sum(line, known.astype(np.float64), start=1 - days, end=0)
    total = _window_sum(line, filled, start=1 - days, end=0)
    squares = _window_sum(line, filled**2, start=1 - days, end=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        var = np.where(n > 1, (squares - total * mean) / (n - 1), np.nan)
    return mean, np.sqrt(np.clip(var, 0.0, None))


def _lagged(line: _Timeline, values: np.ndarray, *, days: int) -> np.ndarray:
    """Value of the same series exactly ``days`` earlier (first row of that day), else NaN."""
    if len(values) == 0:
        return np.zeros(0)
    target = line.key - days
    pos = np.searchsorted(line.key, target, side="left")
    safe = np.minimum(pos, len(values) - 1)
    found = (pos < len(values)) & (line.key[safe] == target)
    return np.where(found, values[safe], np.nan)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _column(stock: pd.DataFrame, name: str, order: np.ndarray) -> np.ndarray:
    if name not in stock.columns:
        return np.full(len(order), np.nan)
    return np.asarray(stock[name].to_numpy(np.float64, na_value=np.nan)[order])


def _unsorted(line: _Timeline, sorted_values: np.ndarray) -> np.ndarray:
    out = np.empty(len(sorted_values), dtype=np.float64)
    out[line.order] = sorted_values
    return out


def stock_targets(stock: pd.DataFrame, *, horizon_days: int) -> pd.DataFrame:
    """Return the stock-out and overflow labels of each row over the next ``horizon_days`` days.

    ``stockout`` is 1.0 when ``on_hand_units`` reaches 0 on any of days t+1..t+H of the same
    warehouse and SKU group, ``overflow`` is 1.0 when ``on_hand_units > capacity_units`` on any
    of them, 0.0 otherwise. Both are NaN when one of those days is not observed (no row, or
    ``on_hand_units`` missing), so the last H days of every series are always NaN.

    Parameters
    ----------
    stock
        Stock rows with ``warehouse_id``, ``date``, ``on_hand_units``, ``capacity_units`` and,
        optionally, ``sku_group``.
    horizon_days
        H, the number of days looked ahead.

    Returns
    -------
    pandas.DataFrame
        Float columns ``stockout`` and ``overflow`` aligned to ``stock.index``.

    Raises
    ------
    ConfigError
        ``horizon_days`` is not positive, or a ``date`` is missing.

    Examples
    --------
    >>> stock = pd.DataFrame({"warehouse_id": "W1",
    ...     "date": pd.date_range("2024-01-01", periods=3), "on_hand_units": [5.0, 0.0, 20.0],
    ...     "capacity_units": 10.0})
    >>> stock_targets(stock, horizon_days=1).to_dict("list")
    {'stockout': [1.0, 0.0, nan], 'overflow': [0.0, 1.0, nan]}
    """
    if horizon_days <= 0:
        raise ConfigError("horizon_days", "must be positive")
    line = _timeline(stock, reach_days=horizon_days)
    on_hand = _column(stock, "on_hand_units", line.order)
    capacity = _column(stock, "capacity_units", line.order)
    observed = ~np.isnan(on_hand)
    first_of_day = observed & ~pd.Series(np.where(observed, line.key, -1)).duplicated().to_numpy()
    seen_days = _window_sum(line, first_of_day.astype(np.float64), start=1, end=horizon_days)
    complete = seen_days == horizon_days
    result = {}
    for name, event in (("stockout", on_hand <= 0), ("overflow", on_hand > capacity)):
        hits = _window_sum(line, event.astype(np.float64), start=1, end=horizon_days)
        result[name] = _unsorted(line, np.where(complete, (hits > 0).astype(np.float64), np.nan))
    return pd.DataFrame(result, index=stock.index)


def stock_history_features(stock: pd.DataFrame) -> pd.DataFrame:
    """Return past-only features of each stock row, from rows of its series dated at most t.

    Windows of w days cover days t-w+1..t of the same warehouse and SKU group. Every column
    is float64 (NaN where undefined):

    - ``utilisation``: on_hand_units / capacity_units.
    - ``days_of_cover_7d``, ``days_of_cover_28d``: on_hand_units / mean outbound over 7 / 28 days.
    - ``outbound_mean_7d`` ... ``inbound_std_28d``: mean and sample std of outbound_units and
      inbound_units over 7 and 28 days.
    - ``net_flow``: inbound_units - outbound_units on day t.
    - ``on_hand_change_1d``, ``on_hand_change_7d``: on_hand_units minus its value 1 / 7 days
      before (NaN when that day is not observed).
    - ``open_orders_to_outbound``: open_orders / mean outbound over 7 days.
    - ``lead_time_days``: as given.
    - ``stockout_last_28d``, ``overflow_last_28d``: 1.0 when on_hand_units was 0 / above
      capacity on a day of the last 28 (day t included).
    - ``day_of_week`` (Monday = 0), ``month`` (1-12) of ``date``.

    Examples
    --------
    >>> stock = pd.DataFrame({"warehouse_id": "W1",
    ...     "date": pd.date_range("2024-01-01", periods=2), "on_hand_units": [4.0, 2.0],
    ...     "capacity_units": 8.0, "inbound_units": 0.0, "outbound_units": [1.0, 2.0]})
    >>> stock_history_features(stock)[["utilisation", "outbound_mean_7d"]].to_dict("list")
    {'utilisation': [0.5, 0.25], 'outbound_mean_7d': [1.0, 1.5]}
    """
    line = _timeline(stock, reach_days=_LONG_WINDOW_DAYS)
    on_hand = _column(stock, "on_hand_units", line.order)
    capacity = _column(stock, "capacity_units", line.order)
    inbound = _column(stock, "inbound_units", line.order)
    outbound = _column(stock, "outbound_units", line.order)
    features: dict[str, np.ndarray] = {"utilisation": _ratio(on_hand, capacity)}
    flows: dict[str, np.ndarray] = {}
    for flow, values in (("outbound", outbound), ("inbound", inbound)):
        for days in (7, _LONG_WINDOW_DAYS):
            mean, std = _window_mean_std(line, values, days=days)
            flows[f"{flow}_mean_{days}d"], flows[f"{flow}_std_{days}d"] = mean, std
    features["days_of_cover_7d"] = _ratio(on_hand, flows["outbound_mean_7d"])
    features["days_of_cover_28d"] = _ratio(on_hand, flows["outbound_mean_28d"])
    features.update(flows)
    features["net_flow"] = inbound - outbound
    features["on_hand_change_1d"] = on_hand - _lagged(line, on_hand, days=1)
    features["on_hand_change_7d"] = on_hand - _lagged(line, on_hand, days=7)
    open_orders = _column(stock, "open_orders", line.order)
    features["open_orders_to_outbound"] = _ratio(open_orders, flows["outbound_mean_7d"])
    features["lead_time_days"] = _column(stock, "lead_time_days", line.order)
    for name, event in (("stockout", on_hand <= 0), ("overflow", on_hand > capacity)):
        hits = _window_sum(line, event.astype(np.float64), start=1 - _LONG_WINDOW_DAYS, end=0)
        features[f"{name}_last_28d"] = (hits > 0).astype(np.float64)
    frame = pd.DataFrame(
        {name: _unsorted(line, values) for name, values in features.items()}, index=stock.index
    )
    dates = pd.DatetimeIndex(stock["date"])
    frame["day_of_week"] = dates.day_of_week.to_numpy(np.float64)
    frame["month"] = dates.month.to_numpy(np.float64)
    return frame[list(STOCK_FEATURE_COLUMNS)]


@dataclass(frozen=True, eq=False)
class Split:
    """A frame cut in time: ``train`` the earliest period, ``valid`` the next, ``test`` the last."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def time_split(
    frame: pd.DataFrame,
    *,
    time_column: str,
    valid_fraction: float = 0.15,
    test_fraction: float = 0.25,
) -> Split:
    """Cut ``frame`` at time quantiles of ``time_column``; never at random.

    The cut points are the times at the ``1 - valid_fraction - test_fraction`` and
    ``1 - test_fraction`` positions of the sorted times; rows with equal times always land in
    the same part, so ``max(train) < min(valid)`` and ``max(valid) < min(test)``. Each part
    keeps the frame's index and row order.

    Raises
    ------
    ConfigError
        A fraction is outside (0, 1), they sum to 1 or more, ``time_column`` is absent or has
        missing values, or a part would be empty (too few distinct times).

    Examples
    --------
    >>> frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=20, tz="UTC")})
    >>> split = time_split(frame, time_column="t", valid_fraction=0.25, test_fraction=0.25)
    >>> len(split.train), len(split.valid), len(split.test)
    (10, 5, 5)
    """
    for name, value in (("valid_fraction", valid_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < value < 1.0:
            raise ConfigError(name, "must be strictly between 0 and 1")
    if valid_fraction + test_fraction >= 1.0:
        raise ConfigError("test_fraction", "valid_fraction + test_fraction must be below 1")
    if time_column not in frame.columns:
        raise ConfigError("time_column", f"frame has no column {time_column!r}")
    times = frame[time_column]
    if times.isna().any():
        raise ConfigError("time_column", f"column {time_column!r} has missing values")
    ordered = times.sort_values(ignore_index=True)
    n = len(ordered)
    if n == 0:
        raise ConfigError("frame", "is empty")
    valid_start = ordered.iloc[min(round(n * (1.0 - valid_fraction - test_fraction)), n - 1)]
    test_start = ordered.iloc[min(round(n * (1.0 - test_fraction)), n - 1)]
    parts = {
        "frame": times < valid_start,
        "valid_fraction": (times >= valid_start) & (times < test_start),
        "test_fraction": times >= test_start,
    }
    for name, mask in parts.items():
        if not mask.any():
            raise ConfigError(name, f"leaves an empty part: {n} rows have too few distinct times")
    train, valid, test = (frame.loc[mask] for mask in parts.values())
    return Split(train=train, valid=valid, test=test)
