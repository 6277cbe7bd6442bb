"""The ETA model: arrival delay of a leg as a median, a calibrated interval and P(on time).

The network predicts three quantiles of the delay in a robust signed-log space
(``sign(y) log1p(|y| / 30 min)``, standardised) with pinball losses, so the heavy tail of
delays neither dominates the gradients nor gets clipped away by DP-SGD, and an on-time logit with
BCE. Quantiles survive the monotone back-transform, so the median head is the point forecast in
minutes. After training, CQR widens the interval by one offset fitted on the member's validation
rows (later in time than the training rows) and Platt scaling calibrates P(on time).

Examples
--------
>>> import numpy as np, pandas as pd, torch
>>> dep = pd.date_range("2024-01-01", periods=200, freq="6h", tz="UTC")
>>> legs = pd.DataFrame({"mode": "road", "carrier": np.where(np.arange(200) % 2, "A", "B"),
...     "origin": "DEHAM", "destination": "DEMUC", "scheduled_departure": dep,
...     "scheduled_arrival": dep + pd.Timedelta(hours=8), "distance_km": 780.0})
>>> legs["actual_arrival"] = legs["scheduled_arrival"] + pd.to_timedelta(
...     np.where(legs["carrier"] == "A", 60, 5), unit="min")
>>> model, _ = fit_eta(legs[:150], valid=legs[150:], spec=EtaSpec(),
...                    config=TrainConfig(epochs=2, batch_size=32), device=torch.device("cpu"))
>>> model.predict_eta(legs[150:]).columns.tolist()
['delay_minutes', 'delay_lower', 'delay_upper', 'p_on_time']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch

from consortium.data.targets import delay_minutes
from consortium.errors import ConfigError
from consortium.models.calibration import ConformalInterval, PlattScaler
from consortium.models.encoding import (
    EncoderConfig,
    ScalingStats,
    encode_categorical,
    standardise,
)
from consortium.models.eta_features import (
    CATEGORICAL_FIELDS,
    NUMERIC_FEATURES,
    eta_categorical,
    eta_numeric,
    from_delay_space,
    to_delay_space,
)
from consortium.models.losses import EtaLoss, split_eta_outputs
from consortium.models.network import WideDeepNet
from consortium.models.progress import OnProgress
from consortium.models.training import FitResult, Privatizer, TensorBatches, TrainConfig, fit_module

logger = logging.getLogger(__name__)

_PREDICT_BATCH = 65536


@dataclass(frozen=True)
class EtaSpec:
    """Hyper-parameters of the ETA model (stored with it in ``encoder.json``)."""

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    delay_scale_minutes: float = 30.0
    emb_dim: int = 8
    hidden: tuple[int, ...] = (128, 64)
    interval_level: float = 0.8
    tolerance_minutes: int = 15

    def __post_init__(self) -> None:
        if not 0.0 < self.interval_level < 1.0:
            raise ConfigError("interval_level", f"must be in (0, 1), got {self.interval_level}")
        if self.tolerance_minutes < 0:
            raise ConfigError("on_time_tolerance_minutes", "must be >= 0")
        if self.delay_scale_minutes <= 0:
            raise ConfigError("delay_scale_minutes", "must be > 0")

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EtaSpec:
        """Rebuild from :meth:`to_dict` output."""
        values = dict(data)
        values["encoder"] = EncoderConfig(**values["encoder"])  # type: ignore[arg-type]
        values["hidden"] = tuple(values["hidden"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def build_eta_network(spec: EtaSpec) -> WideDeepNet:
    """Return an untrained network shaped for ``spec``."""
    return WideDeepNet(
        n_fields=len(CATEGORICAL_FIELDS),
        buckets=spec.encoder.buckets,
        n_numeric=2 * len(NUMERIC_FEATURES),
        n_outputs=4,
        emb_dim=spec.emb_dim,
        hidden=spec.hidden,
    )


def eta_scaling_stats(legs: pd.DataFrame, *, spec: EtaSpec) -> tuple[ScalingStats, ScalingStats]:
    """Return this member's additive statistics: numeric features and the transformed delay."""
    z = to_delay_space(delay_minutes(legs).to_numpy(), scale_minutes=spec.delay_scale_minutes)
    return ScalingStats.from_columns(eta_numeric(legs)), ScalingStats.from_columns({"delay_z": z})


class EtaModel:
    """A trained ETA model; implements :class:`~consortium.evaluation.predictor.EtaPredictor`."""

    kind = "eta"
    """The family this model belongs to (:mod:`consortium.models.families`)."""

    def __init__(
        self,
        *,
        spec: EtaSpec,
        stats: ScalingStats,
        target_stats: ScalingStats,
        network: WideDeepNet,
        interval: ConformalInterval | None = None,
        on_time: PlattScaler | None = None,
        name: str = "dp-eta",
    ) -> None:
        self.spec = spec
        self.stats = stats
        self.target_stats = target_stats
        self.network = network
        self.interval = interval
        self.on_time = on_time or PlattScaler()
        self.name = name

    # ------------------------------------------------------------------ encoding
    def encode(self, legs: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the ``(categorical rows, numeric values)`` tensors of ``legs``."""
        cat = encode_categorical(eta_categorical(legs), config=self.spec.encoder)
        num = standardise(eta_numeric(legs), self.stats)
        return torch.from_numpy(cat), torch.from_numpy(num)

    def standardise_target(self, legs: pd.DataFrame) -> np.ndarray:
        """Return the ``(n, 2)`` training target: standardised delay-space value, on-time flag."""
        minutes = delay_minutes(legs).to_numpy()
        z = to_delay_space(minutes, scale_minutes=self.spec.delay_scale_minutes)
        t = (z - self.target_stats.mean()[0]) / self.target_stats.std()[0]
        on_time = (minutes <= self.spec.tolerance_minutes).astype(np.float64)
        return np.stack([t, on_time], axis=1).astype(np.float32)

    def labelled(self, legs: pd.DataFrame) -> tuple[TensorBatches, EtaLoss]:
        """Return the training tensors of the labelled legs in ``legs`` and the training loss."""
        legs = legs[delay_minutes(legs).notna()]
        cat, num = self.encode(legs)
        target = torch.from_numpy(self.standardise_target(legs))
        return TensorBatches(cat, num, target), EtaLoss(interval_level=self.spec.interval_level)

    def _to_z(self, t: np.ndarray) -> np.ndarray:
        return t * self.target_stats.std()[0] + self.target_stats.mean()[0]

    @torch.no_grad()
    def raw(self, legs: pd.DataFrame) -> dict[str, np.ndarray]:
        """Return uncalibrated heads: ``lower, median, upper`` (delay space) and ``logit``."""
        cat, num = self.encode(legs)
        device = next(self.network.parameters()).device
        self.network.eval()
        chunks = []
        for start in range(0, len(cat), _PREDICT_BATCH):
            out = self.network(
                cat[start : start + _PREDICT_BATCH].to(device),
                num[start : start + _PREDICT_BATCH].to(device),
            )
            chunks.append(torch.stack(split_eta_outputs(out), dim=1).cpu().numpy())
        heads = np.concatenate(chunks) if chunks else np.zeros((0, 4))
        return {
            "lower": self._to_z(heads[:, 0].astype(np.float64)),
            "median": self._to_z(heads[:, 1].astype(np.float64)),
            "upper": self._to_z(heads[:, 2].astype(np.float64)),
            "logit": heads[:, 3].astype(np.float64),
        }

    # ------------------------------------------------------------------ calibration
    def calibrate(self, valid: pd.DataFrame) -> None:
        """Fit CQR and Platt scaling on labelled validation rows (later than the training rows).

        Raises
        ------
        ConfigError
            ``calibration`` when ``valid`` has no labelled rows.
        """
        labelled = valid[delay_minutes(valid).notna()]
        if labelled.empty:
            raise ConfigError("calibration", "no labelled validation rows")
        raw = self.raw(labelled)
        minutes = delay_minutes(labelled).to_numpy()
        z = to_delay_space(minutes, scale_minutes=self.spec.delay_scale_minutes)
        self.interval = ConformalInterval.fit(
            z,
            raw["lower"],
            raw["upper"],
            level=self.spec.interval_level,
            groups=labelled["mode"].to_numpy(),
        )
        self.on_time = PlattScaler.fit(
            raw["logit"], (minutes <= self.spec.tolerance_minutes).astype(np.float64)
        )
        logger.info(
            "calibrated on %d rows: CQR offset %.4f, Platt %s",
            len(labelled),
            self.interval.offset,
            self.on_time,
        )

    # ------------------------------------------------------------------ prediction
    def predict_eta(self, legs: pd.DataFrame) -> pd.DataFrame:
        """Return ``delay_minutes, delay_lower, delay_upper, p_on_time`` aligned to ``legs``."""
        raw = self.raw(legs)
        lower, upper = raw["lower"], raw["upper"]
        if self.interval is not None:
            lower, upper = self.interval.apply(lower, upper, legs["mode"].to_numpy())
            # a negative CQR offset narrows towards the interval's middle, which need not be
            # the median: keep the median inside its interval
            lower, upper = np.minimum(lower, raw["median"]), np.maximum(upper, raw["median"])
        scale = self.spec.delay_scale_minutes
        return pd.DataFrame(
            {
                "delay_minutes": from_delay_space(raw["median"], scale_minutes=scale),
                "delay_lower": from_delay_space(lower, scale_minutes=scale),
                "delay_upper": from_delay_space(upper, scale_minutes=scale),
                "p_on_time": self.on_time.apply(raw["logit"]),
            },
            index=legs.index,
        )


def fit_eta(
    train: pd.DataFrame,
    *,
    valid: pd.DataFrame,
    spec: EtaSpec,
    config: TrainConfig,
    device: torch.device,
    privatizer: Privatizer | None = None,
    on_progress: OnProgress | None = None,
    stats: tuple[ScalingStats, ScalingStats] | None = None,
    network: WideDeepNet | None = None,
) -> tuple[EtaModel, FitResult]:
    """Train an ETA model on ``train`` and calibrate it on ``valid`` (both labelled legs).

    Parameters
    ----------
    train, valid
        Legs with ``actual_arrival``; ``valid`` must be later in time (see ``time_split``).
        ``valid`` calibrates the model and, without DP, chooses the epoch (early stopping).
    spec
        Hyper-parameters (interval level, tolerance, hashing, widths).
    config
        Optimisation settings.
    device
        Where to train.
    privatizer
        A :class:`~consortium.privacy.engine.DPEngine`, or ``None`` for non-private training.
    on_progress
        Receives one :class:`~consortium.models.progress.ProgressEvent` per step.
    stats
        Consortium-wide ``(feature, target)`` statistics; default: this member's own.
    network
        Start from these weights (a federated round's global model); default: a fresh network.

    Returns
    -------
    tuple[EtaModel, FitResult]
        The calibrated model and what training did.
    """
    train = train[delay_minutes(train).notna()]
    if train.empty:
        raise ConfigError("data", "no labelled training legs (actual_arrival is missing)")
    feature_stats, target_stats = (
        stats if stats is not None else eta_scaling_stats(train, spec=spec)
    )
    net = network if network is not None else build_eta_network(spec)
    model = EtaModel(spec=spec, stats=feature_stats, target_stats=target_stats, network=net)
    data, criterion = model.labelled(train)
    result = fit_module(
        net,
        data,
        criterion=criterion,
        config=config,
        device=device,
        privatizer=privatizer,
        on_progress=on_progress,
        validation=model.labelled(valid)[0],
    )
    model.calibrate(valid)
    return model, result
