"""Turn array-likes into checked 1-D float arrays for the metric functions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from consortium.errors import ConfigError


def as_float(name: str, values: npt.ArrayLike) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array (pandas NA becomes NaN)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ConfigError(name, f"must be one-dimensional, got shape {array.shape}")
    return array


def same_length(**arrays: np.ndarray) -> None:
    """Raise :class:`ConfigError` naming the first array whose length differs from the first."""
    names = list(arrays)
    expected = len(arrays[names[0]])
    for name in names[1:]:
        if len(arrays[name]) != expected:
            raise ConfigError(name, f"has {len(arrays[name])} values, {names[0]} has {expected}")


def as_probability(name: str, values: npt.ArrayLike) -> np.ndarray:
    """Return ``values`` as floats in [0, 1]; NaN or values outside raise :class:`ConfigError`."""
    array = as_float(name, values)
    if np.isnan(array).any() or (array < 0.0).any() or (array > 1.0).any():
        raise ConfigError(name, "probabilities must be numbers in [0, 1]")
    return array


def as_outcome(name: str, values: npt.ArrayLike) -> np.ndarray:
    """Return binary outcomes (bool, 0/1) as a float array of 0.0 and 1.0."""
    array = as_float(name, values)
    if not np.isin(array, (0.0, 1.0)).all():
        raise ConfigError(name, "outcomes must be booleans or 0/1")
    return array
