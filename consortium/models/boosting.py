"""One LightGBM fit shared by the boosted models: time-ordered early stopping, fixed seed.

Early stopping watches the latest ``valid_fraction`` of the training rows (by time, never at
random); the model keeps the trees up to its best iteration on that slice and is not refit on
all rows. A binary target with a single class gets a constant model instead of a booster.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from consortium.errors import ConfigError

if TYPE_CHECKING:
    import lightgbm as lgb

_MIN_VALID_ROWS = 10


def check_positive(name: str, value: float) -> None:
    """Raise :class:`ConfigError` naming ``name`` unless ``value`` is positive."""
    if not value > 0:
        raise ConfigError(name, "must be positive")


def check_fraction(name: str, value: float) -> None:
    """Raise :class:`ConfigError` naming ``name`` unless ``value`` lies in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise ConfigError(name, "must be in [0, 1)")


@dataclass(frozen=True)
class BoostingParams:
    """LightGBM settings of a boosted baseline; checked when built.

    Examples
    --------
    >>> BoostingParams(num_boost_round=50).learning_rate
    0.05
    """

    num_boost_round: int = 400
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    early_stopping_rounds: int = 30
    valid_fraction: float = 0.15

    def __post_init__(self) -> None:
        for name in ("num_boost_round", "learning_rate", "num_leaves", "min_data_in_leaf"):
            check_positive(name, getattr(self, name))
        check_positive("early_stopping_rounds", self.early_stopping_rounds)
        check_fraction("valid_fraction", self.valid_fraction)


@dataclass(frozen=True)
class FittedModel:
    """A trained booster (used up to ``best_iteration``) or, without one, a constant."""

    booster: lgb.Booster | None
    best_iteration: int
    constant: float

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Return one prediction per row of ``features`` (probabilities for a binary target)."""
        if self.booster is None:
            return np.full(len(features), self.constant)
        return np.asarray(self.booster.predict(features, num_iteration=self.best_iteration))

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: the booster as LightGBM's own text format, never a pickle."""
        text = None if self.booster is None else self.booster.model_to_string()
        return {"booster": text, "best_iteration": self.best_iteration, "constant": self.constant}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FittedModel:
        """Rebuild from :meth:`to_dict` output."""
        import lightgbm as lgb  # noqa: PLC0415  (slow: off the ClientApp import path)

        text = data["booster"]
        booster = None if text is None else lgb.Booster(model_str=str(text))
        constant = data["constant"]
        return cls(
            booster, int(data["best_iteration"]), float("nan" if constant is None else constant)
        )


def holdout_rows(times: pd.Series, *, valid_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Return positions of the rows to fit on and of the latest ``valid_fraction`` to validate on.

    The validation part is empty when either part would have fewer than 10 rows.

    Examples
    --------
    >>> times = pd.Series(pd.date_range("2024-01-01", periods=40)[::-1])
    >>> fit, valid = holdout_rows(times, valid_fraction=0.25)
    >>> len(fit), sorted(valid.tolist()) == list(range(10))
    (30, True)
    """
    order = np.argsort(times.to_numpy(), kind="stable")
    n_valid = int(np.ceil(len(order) * valid_fraction))
    if n_valid < _MIN_VALID_ROWS or len(order) - n_valid < _MIN_VALID_ROWS:
        return order, order[:0]
    return order[:-n_valid], order[-n_valid:]


def fit_booster(
    features: pd.DataFrame,
    target: npt.ArrayLike,
    *,
    times: pd.Series,
    objective: str,
    alpha: float | None = None,
    params: BoostingParams,
    num_threads: int,
    seed: int,
) -> FittedModel:
    """Fit one LightGBM model with early stopping on the latest rows by ``times``.

    Parameters
    ----------
    features
        Feature frame; pandas ``category`` columns are used as categorical features.
    target
        One value per row (0/1 for ``objective="binary"``).
    times
        When each row happened; only its order is used.
    objective
        A LightGBM objective, e.g. ``"quantile"`` (with ``alpha``) or ``"binary"``.
    alpha
        The quantile level for ``objective="quantile"``.
    params
        Tree and early-stopping settings.
    num_threads, seed
        LightGBM threads and seed (runs are deterministic for a given seed).

    Examples
    --------
    >>> x = pd.DataFrame({"a": np.arange(40.0)})
    >>> t = pd.Series(pd.date_range("2024-01-01", periods=40))
    >>> m = fit_booster(x, np.arange(40.0) * 2, times=t, objective="quantile", alpha=0.5,
    ...                 params=BoostingParams(num_boost_round=20, min_data_in_leaf=5),
    ...                 num_threads=1, seed=0)
    >>> m.predict(x).shape
    (40,)
    """
    y = np.asarray(target, dtype=np.float64)
    if objective == "binary" and len(np.unique(y)) < 2:
        return FittedModel(booster=None, best_iteration=0, constant=float(y[0]) if len(y) else 0.5)
    fit_rows, valid_rows = holdout_rows(times, valid_fraction=params.valid_fraction)
    early = len(valid_rows) > 0
    settings: dict[str, object] = {
        "objective": objective,
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "min_data_in_leaf": params.min_data_in_leaf,
        "min_data_per_group": params.min_data_in_leaf,
        "num_threads": num_threads,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "verbosity": -1,
    }
    if alpha is not None:
        settings["alpha"] = alpha
    import lightgbm as lgb  # noqa: PLC0415  (slow: off the ClientApp import path)

    train = lgb.Dataset(features.iloc[fit_rows], label=y[fit_rows])
    callbacks: list[Callable[..., Any]] = []
    valid_sets: list[lgb.Dataset] = []
    if early:
        valid_sets.append(train.create_valid(features.iloc[valid_rows], label=y[valid_rows]))
        callbacks.append(lgb.early_stopping(params.early_stopping_rounds, verbose=False))
    booster = lgb.train(
        settings,
        train,
        num_boost_round=params.num_boost_round,
        valid_sets=valid_sets,
        callbacks=callbacks,
    )
    best = booster.best_iteration or booster.current_iteration()  # 0 without early stopping
    return FittedModel(booster=booster, best_iteration=int(best), constant=float("nan"))
