"""Boosted ETA models: LightGBM quantiles and an on-time classifier, optionally stacked.

:class:`BoostedEta` is the local LightGBM baseline (:class:`consortium.baselines.LightGBMBaseline`)
and, given a ``base`` model, a member's stacked own model: the base model's forecast columns
(e.g. the pooled network's delay quantiles and P(on time)) join the leg features, so the trees
learn where this member's rows differ from the pool. It stores as LightGBM's own text format
(:meth:`BoostedEta.to_dict`), never as a pickle, so a model directory holds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Self

import numpy as np
import pandas as pd

from consortium.data.targets import delay_minutes, on_time
from consortium.errors import ConfigError, ModelError
from consortium.evaluation.predictor import ETA_COLUMNS, EtaPredictor
from consortium.models.boosting import (
    BoostingParams,
    FittedModel,
    check_positive,
    fit_booster,
    holdout_rows,
)
from consortium.models.leg_features import feature_categories, leg_features

__all__ = ["BoostedEta"]

_BASE_PREFIX = "base_"


def _check_level(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ConfigError("level", "must be strictly between 0 and 1")
    return float(level)


class BoostedEta:
    """Four LightGBM models on :func:`~consortium.models.leg_features.leg_features`.

    ``delay_minutes`` is the 0.5-quantile (median) model, ``delay_lower`` and ``delay_upper``
    the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantile models, and ``p_on_time`` a binary
    classifier of ``delay <= tolerance_minutes``. Early stopping uses the latest training legs
    by ``scheduled_departure`` (see :mod:`consortium.models.boosting`).

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
    base
        A fitted ETA predictor whose forecast columns become extra features (stacking).

    Raises
    ------
    ConfigError
        An argument is out of range.
    """

    kind = "eta"
    """The family this model belongs to (:mod:`consortium.models.families`)."""

    def __init__(
        self,
        *,
        level: float,
        tolerance_minutes: int,
        num_threads: int = 1,
        seed: int = 0,
        params: BoostingParams | None = None,
        base: EtaPredictor | None = None,
        name: str = "lightgbm",
    ) -> None:
        self.level = _check_level(level)
        if tolerance_minutes < 0:
            raise ConfigError("tolerance_minutes", "must be zero or positive")
        self.tolerance_minutes = int(tolerance_minutes)
        check_positive("num_threads", num_threads)
        self.num_threads = int(num_threads)
        self.seed = int(seed)
        self.params = params if params is not None else BoostingParams()
        self.base = base
        self.name = name
        self._categories: dict[str, pd.Index] | None = None
        self._models: dict[str, FittedModel] = {}
        self._margin = 0.0

    @property
    def interval_level(self) -> float:
        """Nominal coverage of the interval."""
        return self.level

    def _features(
        self, legs: pd.DataFrame, categories: Mapping[str, pd.Index] | None = None
    ) -> pd.DataFrame:
        features = leg_features(legs, categories=categories)
        if self.base is None:
            return features
        stacked = self.base.predict_eta(legs)
        for column in ETA_COLUMNS:
            features[_BASE_PREFIX + column] = stacked[column].to_numpy(np.float64)
        return features

    def fit(self, legs: pd.DataFrame) -> Self:
        """Train on the legs with an ``actual_arrival``; return ``self``."""
        labelled = legs.loc[legs["actual_arrival"].notna()]
        if labelled.empty:
            raise ConfigError("legs", "has no legs with actual_arrival to fit on")
        features = self._features(labelled)
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
            raise ModelError(self.name, "not fitted: call fit() first")
        features = self._features(legs, categories=self._categories)
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

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of the fitted trees (the base model is stored on its own)."""
        if self._categories is None:
            raise ModelError(self.name, "not fitted: call fit() first")
        return {
            "name": self.name,
            "level": self.level,
            "tolerance_minutes": self.tolerance_minutes,
            "seed": self.seed,
            "params": asdict(self.params),
            "stacked": self.base is not None,
            "categories": {c: [str(v) for v in i] for c, i in self._categories.items()},
            "margin": self._margin,
            "models": {c: m.to_dict() for c, m in self._models.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: EtaPredictor | None = None) -> BoostedEta:
        """Rebuild from :meth:`to_dict` output; ``base`` is required when it was stacked."""
        if bool(data["stacked"]) != (base is not None):
            raise ConfigError("base", "a stacked model needs its base model, a plain one none")
        model = cls(
            level=float(data["level"]),
            tolerance_minutes=int(data["tolerance_minutes"]),
            seed=int(data["seed"]),
            params=BoostingParams(**data["params"]),
            base=base,
            name=str(data["name"]),
        )
        model._categories = {c: pd.Index(v, dtype=object) for c, v in data["categories"].items()}
        model._margin = float(data["margin"])
        model._models = {c: FittedModel.from_dict(m) for c, m in data["models"].items()}
        return model
