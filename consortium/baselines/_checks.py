"""Constructor checks shared by the baselines, run when a baseline is built (Flower-style)."""

from __future__ import annotations

import pandas as pd

from consortium.errors import ConfigError, ModelError


def check_level(level: float) -> float:
    """Return ``level`` if it is a valid interval level, strictly between 0 and 1."""
    if not 0.0 < level < 1.0:
        raise ConfigError("level", "must be strictly between 0 and 1")
    return float(level)


def check_tolerance(tolerance_minutes: int) -> int:
    """Return ``tolerance_minutes`` if it is zero or positive."""
    if tolerance_minutes < 0:
        raise ConfigError("tolerance_minutes", "must be zero or positive")
    return int(tolerance_minutes)


def check_positive(name: str, value: float) -> None:
    """Raise :class:`ConfigError` naming ``name`` unless ``value`` is positive."""
    if not value > 0:
        raise ConfigError(name, "must be positive")


def check_fraction(name: str, value: float) -> None:
    """Raise :class:`ConfigError` naming ``name`` unless ``value`` lies in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise ConfigError(name, "must be in [0, 1)")


def labelled_legs(legs: pd.DataFrame) -> pd.DataFrame:
    """Return the legs with an ``actual_arrival``; raise :class:`ConfigError` if there are none."""
    labelled = legs.loc[legs["actual_arrival"].notna()]
    if labelled.empty:
        raise ConfigError("legs", "has no legs with actual_arrival to fit on")
    return labelled


def not_fitted(name: str) -> ModelError:
    """Return the error raised when a baseline predicts before :meth:`fit`."""
    return ModelError(name, "not fitted: call fit() first")
