"""A warehouse's daily stock: demand, replenishment, and inbound deliveries delayed by the world.

Each SKU group follows a reorder-point policy: when the inventory position (on hand plus on
order minus backlog) falls below the cover needed over the lead time, the planner orders a lot.
The lot arrives after the nominal lead time plus a delay driven by the same congestion and
weather that delay the world's legs into the warehouse's location and its upstream hubs. A
stock-out (on hand reaches 0 while demand goes unmet) follows demand spikes and late deliveries;
an overflow (on hand above capacity) follows late lots arriving together, emergency orders that
turn out to be unnecessary, or a demand slump while lots are on the way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from consortium.synth.members import SkuGroup, WarehouseSpec, stream_key
from consortium.synth.places import LOCATION_INDEX, REGION_INDEX, location
from consortium.synth.world import N_DAYS, World, stream

logger = logging.getLogger(__name__)

STOCK_COLUMNS: tuple[str, ...] = (
    "warehouse_id", "date", "sku_group", "on_hand_units", "capacity_units", "inbound_units",
    "outbound_units", "open_orders", "lead_time_days",
)  # fmt: skip

_DOW = np.array([1.1, 1.05, 1.0, 1.0, 1.1, 0.6, 0.25])
_SAFETY_DAYS = 2.0
_ORDER_COVER_DAYS = 6.0
_CAPACITY_HEADROOM = 1.3
_DELAY_GAIN_DAYS = 16.0  # days of delay per unit of inbound pressure above the threshold
_PRESSURE_THRESHOLD = 0.36
_BACKLOG_KEPT = 0.7  # the rest of unmet demand is cancelled each day
_PREBOOKED = 0.5  # share of tomorrow's demand already booked today


def inbound_pressure(world: World, spec: WarehouseSpec) -> np.ndarray:
    """Daily pressure on the warehouse's inbound flow, per world day (0 calm, 1 gridlock).

    A weighted mean over the warehouse's upstream hubs of congestion plus road weather
    severity, each shifted by the hub's transit time to the warehouse.
    """
    total = np.zeros(world.n_world_days)
    weight_sum = 0.0
    for code, weight, transit in spec.upstream:
        region = REGION_INDEX[location(code).region]
        hub = world.congestion[LOCATION_INDEX[code]] + 0.3 * world.severity["road"][region]
        earlier = np.concatenate([np.full(transit, hub[0]), hub[: len(hub) - transit]])
        total += weight * earlier  # the hub's pressure ``transit`` days before arrival
        weight_sum += weight
    return total / weight_sum


def generate_stock(
    world: World, spec: WarehouseSpec, sku_groups: Sequence[SkuGroup]
) -> pd.DataFrame:
    """Simulate a warehouse's SKU groups day by day and return the two years as a frame.

    Parameters
    ----------
    world
        The shared world.
    spec
        The warehouse.
    sku_groups
        Which of its SKU groups to report (see :func:`~consortium.synth.members.active_sku_groups`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`STOCK_COLUMNS`, one row per day and SKU group, sorted by date.

    Examples
    --------
    >>> from consortium.synth.members import WAREHOUSES
    >>> from consortium.synth.world import build_world
    >>> spec = WAREHOUSES[0]
    >>> stock = generate_stock(build_world(7), spec, spec.sku_groups[:1])
    >>> len(stock), bool((stock["on_hand_units"] >= 0).all())
    (731, True)
    """
    rng = stream(world.seed, stream_key(spec.member_id))
    pressure = inbound_pressure(world, spec)
    dates = world.dates()
    frames = []
    for sku in spec.sku_groups:  # draw for every group so a group's data never depends on scale
        sim = _simulate_sku(world, sku, pressure, dates, rng)
        if sku in sku_groups:
            sim.insert(0, "sku_group", sku.name)
            frames.append(sim)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "warehouse_id", spec.warehouse_id)
    out = out.sort_values(["date", "sku_group"], kind="stable", ignore_index=True)
    logger.info("%s: %d stock rows", spec.member_id, len(out))
    return out[list(STOCK_COLUMNS)]


def _demand(sku: SkuGroup, dates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(dates)
    doy = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    dow = (dates.astype(int) + 3) % 7
    season = 1.0 + sku.season_amplitude * np.cos(2 * np.pi * (doy - sku.peak_doy) / 365.25)
    trend = 1.0 + 0.05 * np.arange(n) / 365.25
    shock = np.ones(n)
    for _ in range(int(rng.poisson(sku.spike_rate_per_year * n / 365.25))):
        start, days = int(rng.integers(0, n)), int(rng.integers(1, 6))
        shock[start : start + days] *= rng.uniform(1.6, 3.0)  # promotion or panic buying
    for _ in range(int(rng.poisson(1.5 * n / 365.25))):
        start, days = int(rng.integers(0, n)), int(rng.integers(4, 12))
        shock[start : start + days] *= rng.uniform(0.3, 0.6)  # a customer pauses its orders
    mean = sku.daily_units * season * trend * _DOW[dow] * shock
    return np.round(mean * rng.lognormal(-0.02, 0.2, n))


def _simulate_sku(
    world: World, sku: SkuGroup, pressure: np.ndarray, dates: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    n = world.offset + N_DAYS
    demand = _demand(sku, dates, rng)
    horizon = len(pressure)
    expected_delay = _DELAY_GAIN_DAYS * np.maximum(pressure - _PRESSURE_THRESHOLD, 0.0)
    tail_p = 0.02 + 0.3 * np.maximum(pressure - _PRESSURE_THRESHOLD, 0.0)
    delay = expected_delay + rng.normal(0.0, 0.4, horizon)
    delay += np.where(rng.random(horizon) < tail_p, rng.exponential(4.0, horizon), 0.0)
    delay_days = np.maximum(np.round(delay), 0).astype(int)
    lot = max(10.0, round(sku.daily_units / 10.0) * 10.0)
    peak_cover = (1.0 + sku.season_amplitude) * (1.0 + _SAFETY_DAYS + _ORDER_COVER_DAYS)
    capacity = int(round(sku.daily_units * peak_cover * _CAPACITY_HEADROOM / 10.0) * 10)

    arrivals = np.zeros(horizon + 60)
    outstanding: list[tuple[int, int]] = []  # (expected day, actual day)
    on_hand = sku.daily_units * (_SAFETY_DAYS + _ORDER_COVER_DAYS / 2)
    backlog, pipeline, forecast, seen_delay = 0.0, 0.0, float(sku.daily_units), 0.0
    rows = np.zeros((n, 5))
    for t in range(n):
        inbound = arrivals[t]
        pipeline -= inbound
        for expected, actual in [o for o in outstanding if o[1] == t]:
            seen_delay = 0.8 * seen_delay + 0.2 * (actual - expected)
            outstanding.remove((expected, actual))
        available = on_hand + inbound
        due = backlog + demand[t]
        shipped = min(available, due)
        on_hand = available - shipped
        backlog = float(np.floor((due - shipped) * _BACKLOG_KEPT))
        forecast = 0.9 * forecast + 0.1 * demand[t]
        reorder_point = forecast * (sku.lead_days + 1 + _SAFETY_DAYS + seen_delay)
        if on_hand + pipeline - backlog < reorder_point:
            quantity = np.ceil(forecast * _ORDER_COVER_DAYS / lot) * lot
            due_day = t + sku.lead_days
            actual = due_day + int(delay_days[min(due_day, horizon - 1)])
            arrivals[actual] += quantity
            pipeline += quantity
            outstanding.append((due_day, actual))
        overdue = any(e < t < a for e, a in outstanding)
        if overdue and on_hand < forecast and rng.random() < 0.3:  # expedite from elsewhere
            quantity = np.ceil(forecast * _ORDER_COVER_DAYS / lot) * lot
            actual = t + max(1, sku.lead_days // 2)
            arrivals[actual] += quantity
            pipeline += quantity
            outstanding.append((actual, actual))
        quoted = (
            sku.lead_days
            + 0.5 * seen_delay
            + 0.5 * expected_delay[min(t + sku.lead_days, horizon - 1)]
        )
        open_orders = backlog + _PREBOOKED * demand[min(t + 1, n - 1)]
        rows[t] = (on_hand, inbound, shipped, open_orders, quoted)
    keep = slice(world.offset, n)
    return pd.DataFrame(
        {
            "date": np.datetime_as_string(dates[keep], unit="D").astype(object),
            "on_hand_units": np.round(rows[keep, 0]).astype(np.int64),
            "capacity_units": np.int64(capacity),
            "inbound_units": np.round(rows[keep, 1]).astype(np.int64),
            "outbound_units": np.round(rows[keep, 2]).astype(np.int64),
            "open_orders": np.round(rows[keep, 3]).astype(np.int64),
            "lead_time_days": np.round(np.maximum(rows[keep, 4], 0.0), 1),
        }
    )
