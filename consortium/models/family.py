"""One :class:`ModelFamily` per forecast the consortium trains: what differs between ETA and stock.

Callers look a family up (:func:`consortium.models.families.family`) and use its fields instead
of branching on the model's name: the data contract it reads, the column that orders its rows in
time, its training defaults, how to build, fit, evaluate, store and calibrate its model, and
what a member contributes to the secure sums. The two families live in
:mod:`consortium.models.eta_family` and :mod:`consortium.models.stock_family`.

Examples
--------
>>> from consortium.models.families import family
>>> eta = family("eta")
>>> eta.contract, eta.training_purpose, eta.time_column
('legs', 'eta-training', 'scheduled_departure')
>>> family("stock").loss_metric
'stockout_brier'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from consortium.config import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL_LEVEL,
    DEFAULT_TOLERANCE_MINUTES,
)
from consortium.errors import ConfigError
from consortium.models.encoding import EncoderConfig
from consortium.models.eta import EtaModel
from consortium.models.eta_boosted import BoostedEta
from consortium.models.network import WideDeepNet
from consortium.models.progress import OnProgress
from consortium.models.stock import StockModel
from consortium.models.stock_boosted import BoostedStock
from consortium.models.timetable import TimetableEta
from consortium.models.training import FitResult, Privatizer, TrainConfig

__all__ = [
    "AnyModel",
    "BoostedModel",
    "CatalogSums",
    "FitRequest",
    "ModelFamily",
    "ModelKind",
    "ModelSettings",
    "StoredModel",
]

ModelKind = Literal["eta", "stock"]
"""The names of the registered families."""

AnyModel = EtaModel | StockModel
BoostedModel = BoostedEta | BoostedStock
StoredModel = EtaModel | StockModel | BoostedEta | BoostedStock | TimetableEta
"""Anything a model directory holds: a network, boosted trees (maybe stacked on a network), or
a member's timetable (:class:`~consortium.models.timetable.TimetableEta`)."""
Arrays = dict[str, np.ndarray]
Shapes = Mapping[str, tuple[int, ...]]


@dataclass(frozen=True)
class ModelSettings:
    """What a forecast promises, shared by the coordinator and every member.

    Examples
    --------
    >>> ModelSettings().interval_level
    0.8
    >>> ModelSettings(interval_level=1.5)
    Traceback (most recent call last):
    ...
    consortium.errors.ConfigError: invalid interval_level: must be strictly between 0 and 1
    """

    interval_level: float = DEFAULT_INTERVAL_LEVEL
    """Nominal coverage of the ETA interval."""
    tolerance_minutes: int = DEFAULT_TOLERANCE_MINUTES
    """An arrival this many minutes after schedule or earlier is on time."""
    horizon_days: int = DEFAULT_HORIZON_DAYS
    """Horizon of the stock-risk probabilities."""

    def __post_init__(self) -> None:
        if not 0.0 < self.interval_level < 1.0:
            raise ConfigError("interval_level", "must be strictly between 0 and 1")
        if self.tolerance_minutes < 0:
            raise ConfigError("tolerance_minutes", "must be >= 0")
        if self.horizon_days <= 0:
            raise ConfigError("horizon_days", f"must be > 0, got {self.horizon_days}")

    @classmethod
    def of_card(cls, card: Mapping[str, Any]) -> ModelSettings:
        """Return the settings a model card records (a missing one keeps its default)."""
        defaults = cls()
        return cls(
            interval_level=float(card.get("interval_level", defaults.interval_level)),
            tolerance_minutes=int(
                card.get("on_time_tolerance_minutes", defaults.tolerance_minutes)
            ),
            horizon_days=int(card.get("horizon_days", defaults.horizon_days)),
        )


@dataclass(frozen=True)
class FitRequest:
    """Everything one local fit needs besides the rows (see :attr:`ModelFamily.fit`)."""

    settings: ModelSettings
    config: TrainConfig
    device: torch.device
    encoder: EncoderConfig | None = None
    privatizer: Privatizer | None = None
    on_progress: OnProgress | None = None
    stats: Any = None
    network: WideDeepNet | None = None


def seed_fresh_network(req: FitRequest) -> None:
    """Seed torch's global generator from the run's seed when ``req`` starts a fresh network.

    A fresh network's weights are drawn when it is built, before the training loop seeds its
    own shuffling, so without this a model would depend on whatever drew random numbers
    earlier in the process (another model, another test). A network passed in (a federated
    round's global model, the pooled network being fine-tuned) is left as it is.
    """
    if req.network is None:
        torch.manual_seed(req.config.seed)


@dataclass(frozen=True)
class CatalogSums:
    """An extra array a member adds to the statistics secure sum (ETA: the lane catalog)."""

    name: str
    shape: tuple[int, ...]
    compute: Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class ModelFamily:
    """Everything that differs between the consortium's forecasts (see the module docstring)."""

    kind: ModelKind
    contract: str
    """The data contract its rows come through (``data_schemas/<contract>.v1.json``)."""
    training_purpose: str
    """The declared purpose under which a member's rows may train it."""
    time_column: str
    """The column that orders rows in time (train / validation / test split)."""
    train_defaults: TrainConfig
    """Training settings chosen by validation on the past."""
    default_encoder: Callable[[], EncoderConfig]
    features: Mapping[str, tuple[str, ...]]
    """``hashed`` and ``numeric`` input features (named in model cards)."""
    loss_metric: str
    """The evaluation column reported as a round's loss (lower is better)."""
    build: Callable[[Any, ModelSettings], AnyModel]
    """An untrained model over consortium-wide statistics."""
    fit: Callable[[pd.DataFrame, pd.DataFrame, FitRequest], tuple[AnyModel, FitResult]]
    """Train on the first frame, calibrate on the second (later) one."""
    evaluate: Callable[[Mapping[str, Any], pd.DataFrame, ModelSettings], pd.DataFrame]
    """Score predictors on held-out rows, one table row each."""
    card_details: Callable[[AnyModel, Mapping[str, Any], ModelSettings], dict[str, Any]]
    """What a model card says about calibration and the promised quantities."""
    statistics_shapes: Shapes
    member_statistics: Callable[[pd.DataFrame], Arrays]
    statistics_from_sums: Callable[[Mapping[str, np.ndarray]], Any]
    stats_to_dict: Callable[[Any], dict[str, Any]]
    stats_from_dict: Callable[[Mapping[str, Any]], Any]
    calibration_shapes: Shapes
    member_calibration: Callable[[AnyModel, pd.DataFrame], Arrays]
    apply_calibration_sums: Callable[[AnyModel, Mapping[str, np.ndarray]], None]
    encoder_dict: Callable[[AnyModel], dict[str, Any]]
    """What ``encoder.json`` of a model directory holds (besides its format)."""
    calibration_dict: Callable[[AnyModel], dict[str, Any]]
    """What ``calibration.json`` of a model directory holds."""
    restore: Callable[[Mapping[str, Any], Mapping[str, Any]], AnyModel]
    """Rebuild an (unweighted) model from :attr:`encoder_dict` and :attr:`calibration_dict`."""
    set_calibration: Callable[[AnyModel, Mapping[str, Any]], None]
    """Set a model's calibration from :attr:`calibration_dict` output."""
    forecast_table: Callable[[StoredModel, pd.DataFrame], pd.DataFrame]
    """One forecast row per input row, as ``consortium predict`` writes it."""
    boosted: Callable[..., BoostedModel]
    """An unfitted boosted model (keyword arguments: ``settings``, ``seed``, ``base``, ``name``,
    ``params``): the member's LightGBM, or stacked on ``base`` (a fitted model of this family)."""
    restore_boosted: Callable[[Mapping[str, Any], Any], StoredModel]
    """Rebuild a boosted model from its ``to_dict()`` output and its base model (or ``None``)."""
    stats_of: Callable[[AnyModel], Any] = lambda model: None
    """The scaling statistics ``model`` was built on (to fine-tune it: :attr:`FitRequest.stats`)."""
    row_losses: Callable[[StoredModel, pd.DataFrame, ModelSettings], np.ndarray] | None = None
    """Per labelled row, the loss whose mean is :attr:`loss_metric` (to compare two models on the
    same rows: a paired test)."""
    value_metrics: tuple[str, ...] = ()
    """What ``consortium value`` reports per model: :attr:`loss_metric` first, then the others."""
    loss_label: str = ""
    """:attr:`loss_metric` with its unit, for charts."""
    catalog_sums: CatalogSums | None = None
    timetable: Callable[[ModelSettings], TimetableEta] | None = None
    """An unfitted model of the forecast a member has without any model (ETA: its schedule), a
    local-only candidate for its own model; ``None`` when the family has none as a model."""

    @property
    def contract_version(self) -> str:
        """The versioned contract id named in model cards (``legs.v1``)."""
        return f"{self.contract}.v1"

    def secure_sum_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of everything a member adds to the statistics secure sum."""
        shapes = dict(self.statistics_shapes)
        if self.catalog_sums is not None:
            shapes[self.catalog_sums.name] = self.catalog_sums.shape
        return shapes

    def secure_sum_arrays(self, train: pd.DataFrame) -> Arrays:
        """Return a member's arrays for the statistics secure sum (:meth:`secure_sum_shapes`)."""
        arrays = self.member_statistics(train)
        if self.catalog_sums is not None:
            arrays[self.catalog_sums.name] = self.catalog_sums.compute(train)
        return arrays
