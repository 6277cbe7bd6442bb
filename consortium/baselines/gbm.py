"""The boosted ETA baseline: LightGBM quantile models for the delay and a classifier for on-time."""

from __future__ import annotations

from typing import Self

import numpy as np
import pandas as pd

from consortium.baselines._checks import (
    check_level,
    check_positive,
    check_tolerance,
    labelled_legs,
    not_fitted,
)
from consortium.baselines.boosting import BoostingParams, FittedModel, fit_booster, holdout_rows
from consortium.baselines.features import feature_categories, leg_features
from consortium.data.targets import delay_minutes, on_time


class LightGBMBaseline:
    """Four LightGBM models on :func:`~consortium.baselines.features.leg_features`.

    ``delay_minutes`` is the 0.5-quantile (median) model, ``delay_lower`` and ``delay_upper``
    the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantile models, and ``p_on_time`` a binary
    classifier of ``delay <= tolerance_minutes``. Early stopping uses the latest training legs
    by ``scheduled_departure`` (see :mod:`consortium.baselines.boosting`).

    Quantile boosting alone tends to give too narrow intervals, so the interval is then
    conformalised (CQR, Romano et al. 2019) on that same latest slice: both ends move out (or
    in) by the ``level`` quantile of ``max(lower - y, y - upper)`` there. The slice also chose
    the number of trees, so the guarantee is approximate. Ends are finally kept on either side
    of the point.

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
        self.level = check_level(level)
        self.tolerance_minutes = check_tolerance(tolerance_minutes)
        check_positive("num_threads", num_threads)
        self.num_threads = int(num_threads)
        self.seed = int(seed)
        self.params = params if params is not None else BoostingParams()
        self._categories: dict[str, pd.Index] | None = None
        self._models: dict[str, FittedModel] = {}
        self._margin = 0.0

    def fit(self, legs: pd.DataFrame) -> Self:
        """Train on the legs with an ``actual_arrival``; return ``self``."""
        labelled = labelled_legs(legs)
        features = leg_features(labelled)
        delay = delay_minutes(labelled).to_numpy()
        punctual = on_time(labelled, tolerance_minutes=self.tolerance_minutes).to_numpy(float)
        targets = {
            "delay_lower": (delay, "quantile", (1.0 - self.level) / 2.0),
            "delay_minutes": (delay, "quantile", 0.5),
            "delay_upper": (delay, "quantile", (1.0 + self.level) / 2.0),
            "p_on_time": (punctual, "binary", None),
        }
        self._models = {
            column: fit_booster(
                features,
                target,
                times=labelled["scheduled_departure"],
                objective=objective,
                alpha=alpha,
                params=self.params,
                num_threads=self.num_threads,
                seed=self.seed,
            )
            for column, (target, objective, alpha) in targets.items()
        }
        self._margin = self._conformal_margin(features, delay, labelled["scheduled_departure"])
        self._categories = feature_categories(features)
        return self

    def _quantiles(self, features: pd.DataFrame) -> np.ndarray:
        columns = ("delay_lower", "delay_minutes", "delay_upper")
        quantiles = np.column_stack([self._models[c].predict(features) for c in columns])
        quantiles.sort(axis=1)
        return quantiles

    def _conformal_margin(
        self, features: pd.DataFrame, delay: np.ndarray, times: pd.Series
    ) -> float:
        _, rows = holdout_rows(times, valid_fraction=self.params.valid_fraction)
        if len(rows) == 0:
            return 0.0
        quantiles = self._quantiles(features.iloc[rows])
        scores = np.maximum(quantiles[:, 0] - delay[rows], delay[rows] - quantiles[:, 2])
        rank = min(1.0, np.ceil((len(rows) + 1) * self.level) / len(rows))
        return float(np.quantile(scores, rank, method="higher"))

    def predict_eta(self, legs: pd.DataFrame) -> pd.DataFrame:
        """Return ``delay_minutes, delay_lower, delay_upper, p_on_time`` aligned to ``legs``."""
        if self._categories is None:
            raise not_fitted(self.name)
        features = leg_features(legs, categories=self._categories)
        quantiles = self._quantiles(features)
        point = quantiles[:, 1]
        return pd.DataFrame(
            {
                "delay_minutes": point,
                "delay_lower": np.minimum(quantiles[:, 0] - self._margin, point),
                "delay_upper": np.maximum(quantiles[:, 2] + self._margin, point),
                "p_on_time": np.clip(self._models["p_on_time"].predict(features), 0.0, 1.0),
            },
            index=legs.index,
        )
