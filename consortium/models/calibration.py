"""Calibration on the member's own validation rows: conformalised quantiles and Platt scaling.

Both are fitted on rows the network never trained on, after training, and stored in the model
directory. They are small (one offset, two coefficients per probability), but they are computed
from the member's validation rows without noise; the model card says so.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(size=2000)
>>> cqr = ConformalInterval.fit(y, np.full(2000, -0.5), np.full(2000, 0.5), level=0.8)
>>> lo, hi = cqr.apply(np.full(2000, -0.5), np.full(2000, 0.5))
>>> abs(float(np.mean((y >= lo) & (y <= hi))) - 0.8) < 0.03
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from consortium.errors import ConfigError

MIN_GROUP_ROWS = 100
"""A group (transport mode) gets its own CQR offset from this many calibration rows on."""


def _offset(scores: np.ndarray, level: float) -> float:
    n = len(scores)
    rank = min(1.0, math.ceil((n + 1) * level) / n)
    return float(np.quantile(scores, rank, method="higher"))


@dataclass(frozen=True)
class ConformalInterval:
    """Conformalised quantile regression (CQR): widen (or narrow) intervals by one offset.

    Scores are ``max(lower - y, y - upper)``; the offset is their ``ceil((n + 1) level) / n``
    empirical quantile, which gives coverage ≥ ``level`` on exchangeable rows. With ``groups``
    (Mondrian CQR) each group with at least :data:`MIN_GROUP_ROWS` calibration rows gets its own
    offset, so coverage also holds per group (per transport mode: a sea line and a trucker each
    see the nominal coverage on their own legs); other groups use the pooled offset.
    """

    level: float
    offset: float
    n_calibration: int
    group_offsets: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        y: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        *,
        level: float,
        groups: np.ndarray | None = None,
    ) -> ConformalInterval:
        """Fit the offsets on calibration rows (``y`` and the heads' bounds, same space).

        Raises
        ------
        ConfigError
            ``level`` outside (0, 1), or ``calibration`` with no rows.
        """
        if not 0.0 < level < 1.0:
            raise ConfigError("interval_level", f"must be in (0, 1), got {level}")
        scores = np.maximum(np.asarray(lower) - y, np.asarray(y) - upper)
        known = ~np.isnan(scores)
        if not known.any():
            raise ConfigError("calibration", "no validation rows to calibrate the interval on")
        per_group: dict[str, float] = {}
        if groups is not None:
            labels = np.asarray(groups, dtype=object)[known]
            for group in pd.unique(labels):
                mine = scores[known][labels == group]
                if len(mine) >= MIN_GROUP_ROWS:
                    per_group[str(group)] = _offset(mine, level)
        return cls(level, _offset(scores[known], level), int(known.sum()), per_group)

    def apply(
        self, lower: np.ndarray, upper: np.ndarray, groups: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the calibrated ``(lower, upper)``; bounds never cross."""
        offset = np.full(len(np.asarray(lower)), self.offset)
        if groups is not None and self.group_offsets:
            labels = np.asarray(groups, dtype=object).astype(str)
            for group, value in self.group_offsets.items():
                offset[labels == group] = value
        lo, hi = np.asarray(lower) - offset, np.asarray(upper) + offset
        mid = (np.asarray(lower) + np.asarray(upper)) / 2.0
        return np.minimum(lo, mid), np.maximum(hi, mid)

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "level": self.level,
            "offset": self.offset,
            "n_calibration": self.n_calibration,
            "group_offsets": dict(self.group_offsets),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConformalInterval:
        """Rebuild from :meth:`to_dict` output."""
        groups = {str(k): float(v) for k, v in dict(data.get("group_offsets") or {}).items()}
        return cls(float(data["level"]), float(data["offset"]), int(data["n_calibration"]), groups)


@dataclass(frozen=True)
class PlattScaler:
    """``p = sigmoid(a * logit + b)``, fitted by logistic regression on calibration rows."""

    slope: float = 1.0
    intercept: float = 0.0

    @classmethod
    def fit(cls, logits: np.ndarray, labels: np.ndarray) -> PlattScaler:
        """Fit on calibration rows; NaN labels are ignored, one class only keeps the identity."""
        logits = np.asarray(logits, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.float64)
        known = ~np.isnan(labels)
        x, y = logits[known], labels[known]
        if len(np.unique(y)) < 2:
            return cls()
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415  (slow: off the ClientApp import path)

        model = LogisticRegression(C=1e4, max_iter=1000).fit(x.reshape(-1, 1), y.astype(int))
        return cls(float(model.coef_[0, 0]), float(model.intercept_[0]))

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities."""
        z = self.slope * np.asarray(logits, dtype=np.float64) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))

    def to_dict(self) -> dict[str, float]:
        """Return a JSON-ready dict."""
        return {"slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> PlattScaler:
        """Rebuild from :meth:`to_dict` output."""
        return cls(float(data["slope"]), float(data["intercept"]))
