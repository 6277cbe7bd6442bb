"""The boosted ETA baseline: LightGBM quantile models for the delay and a classifier for on-time."""

from __future__ import annotations

from consortium.models.boosting import BoostingParams
from consortium.models.eta_boosted import BoostedEta

__all__ = ["LightGBMBaseline"]


class LightGBMBaseline(BoostedEta):
    """A member's LightGBM on its own legs only: a boosted ETA model without a base model.

    See :class:`~consortium.models.eta_boosted.BoostedEta` for the quantile models and the
    conformal interval.

    Parameters
    ----------
    level
        Nominal coverage of the interval, in (0, 1).
    tolerance_minutes
        Minutes late that still count as on time.
    num_threads
        LightGBM threads.
    seed
        LightGBM seed; the same seed and data give the same model.
    params
        Tree and early-stopping settings; defaults to :class:`BoostingParams` ``()``.

    Raises
    ------
    ConfigError
        An argument is out of range.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> start = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(60), "h")
    >>> legs = pd.DataFrame({"mode": "road", "carrier": "C1", "origin": "AAA",
    ...     "destination": rng.choice(["BBB", "CCC"], 60), "scheduled_departure": start,
    ...     "scheduled_arrival": start + pd.Timedelta(hours=5)})
    >>> legs["actual_arrival"] = legs["scheduled_arrival"] + pd.to_timedelta(
    ...     np.where(legs["destination"] == "BBB", 60, 0), "min")
    >>> model = LightGBMBaseline(level=0.8, tolerance_minutes=15,
    ...     params=BoostingParams(num_boost_round=30, min_data_in_leaf=5)).fit(legs)
    >>> list(model.predict_eta(legs).columns)
    ['delay_minutes', 'delay_lower', 'delay_upper', 'p_on_time']
    """

    name = "lightgbm"

    def __init__(
        self,
        *,
        level: float,
        tolerance_minutes: int,
        num_threads: int = 1,
        seed: int = 0,
        params: BoostingParams | None = None,
    ) -> None:
        super().__init__(
            level=level,
            tolerance_minutes=tolerance_minutes,
            num_threads=num_threads,
            seed=seed,
            params=params,
            name="lightgbm",
        )
