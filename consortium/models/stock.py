"""The stock-risk model: P(stock-out) and P(overflow) of a warehouse series within H days.

Inputs are the past-only features of :func:`consortium.data.targets.stock_history_features`
(signed-log transformed, standardised with additive statistics), today's flows, and hashed
warehouse / SKU-group codes. Two logits are trained with BCE that ignores rows whose horizon is
incomplete; Platt scaling on later validation rows calibrates each probability.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch

from consortium.data.targets import STOCK_FEATURE_COLUMNS, stock_history_features, stock_targets
from consortium.errors import ConfigError
from consortium.models.calibration import PlattScaler
from consortium.models.encoding import EncoderConfig, ScalingStats, encode_categorical, standardise
from consortium.models.losses import MaskedBCELoss
from consortium.models.network import WideDeepNet
from consortium.models.progress import OnProgress
from consortium.models.training import FitResult, Privatizer, TensorBatches, TrainConfig, fit_module

logger = logging.getLogger(__name__)

HEADS: tuple[str, ...] = ("stockout", "overflow")
STOCK_CATEGORICAL: tuple[str, ...] = ("warehouse_id", "sku_group", "warehouse_sku")
FLOW_COLUMNS: tuple[str, ...] = (
    "on_hand_units",
    "capacity_units",
    "inbound_units",
    "outbound_units",
    "open_orders",
)
STOCK_NUMERIC: tuple[str, ...] = STOCK_FEATURE_COLUMNS + tuple(f"log_{c}" for c in FLOW_COLUMNS)


@dataclass(frozen=True)
class StockSpec:
    """Hyper-parameters of the stock-risk model (stored with it)."""

    encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(buckets=256))
    horizon_days: int = 7
    emb_dim: int = 4
    hidden: tuple[int, ...] = (64, 32)

    def __post_init__(self) -> None:
        if self.horizon_days <= 0:
            raise ConfigError("horizon_days", f"must be > 0, got {self.horizon_days}")

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> StockSpec:
        """Rebuild from :meth:`to_dict` output."""
        values = dict(data)
        values["encoder"] = EncoderConfig(**values["encoder"])  # type: ignore[arg-type]
        values["hidden"] = tuple(values["hidden"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def build_stock_network(spec: StockSpec) -> WideDeepNet:
    """Return an untrained network shaped for ``spec``."""
    return WideDeepNet(
        n_fields=len(STOCK_CATEGORICAL),
        buckets=spec.encoder.buckets,
        n_numeric=2 * len(STOCK_NUMERIC),
        n_outputs=len(HEADS),
        emb_dim=spec.emb_dim,
        hidden=spec.hidden,
    )


def _signed_log(values: np.ndarray) -> np.ndarray:
    v = np.where(np.isfinite(values), values, np.nan)
    return np.sign(v) * np.log1p(np.abs(v))


def stock_numeric(stock: pd.DataFrame) -> dict[str, np.ndarray]:
    """Return the transformed numeric features of :data:`STOCK_NUMERIC` (NaN = missing)."""
    history = stock_history_features(stock)
    values = {c: _signed_log(history[c].to_numpy(np.float64)) for c in STOCK_FEATURE_COLUMNS}
    for c in FLOW_COLUMNS:
        raw = (
            pd.to_numeric(stock[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            if c in stock.columns
            else np.full(len(stock), np.nan)
        )
        values[f"log_{c}"] = _signed_log(raw)
    return values


def stock_categorical(stock: pd.DataFrame) -> dict[str, pd.Series]:
    """Return the hashed fields of :data:`STOCK_CATEGORICAL` as strings."""
    if "warehouse_id" not in stock.columns:
        raise ConfigError("stock", "missing column warehouse_id")
    warehouse = stock["warehouse_id"].astype(str)
    sku = (
        stock["sku_group"].astype("object").where(stock["sku_group"].notna(), "").astype(str)
        if "sku_group" in stock.columns
        else pd.Series("", index=stock.index)
    )
    return {"warehouse_id": warehouse, "sku_group": sku, "warehouse_sku": warehouse + "|" + sku}


class StockModel:
    """A trained stock-risk model (a :class:`~consortium.evaluation.predictor.StockPredictor`)."""

    kind = "stock"
    """The family this model belongs to (:mod:`consortium.models.families`)."""

    def __init__(
        self,
        *,
        spec: StockSpec,
        stats: ScalingStats,
        network: WideDeepNet,
        scalers: Mapping[str, PlattScaler] | None = None,
        name: str = "dp-stock",
    ) -> None:
        self.spec = spec
        self.stats = stats
        self.network = network
        self.scalers = dict(scalers) if scalers else {h: PlattScaler() for h in HEADS}
        self.name = name

    def encode(self, stock: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the ``(categorical rows, numeric values)`` tensors of ``stock``."""
        cat = encode_categorical(stock_categorical(stock), config=self.spec.encoder)
        num = standardise(stock_numeric(stock), self.stats)
        return torch.from_numpy(cat), torch.from_numpy(num)

    def labelled(self, stock: pd.DataFrame) -> tuple[TensorBatches, MaskedBCELoss]:
        """Return the training tensors of the rows of ``stock`` with a label and the loss.

        A row counts when at least one head's horizon is complete within ``stock``.
        """
        labels = stock_targets(stock, horizon_days=self.spec.horizon_days)
        keep = torch.from_numpy(labels.notna().any(axis=1).to_numpy(copy=True))
        cat, num = self.encode(stock)
        target = torch.from_numpy(labels.to_numpy(np.float32, copy=True))
        return TensorBatches(cat[keep], num[keep], target[keep]), MaskedBCELoss()

    @torch.no_grad()
    def logits(self, stock: pd.DataFrame) -> np.ndarray:
        """Return the uncalibrated ``(n, 2)`` logits."""
        cat, num = self.encode(stock)
        device = next(self.network.parameters()).device
        self.network.eval()
        return self.network(cat.to(device), num.to(device)).cpu().numpy().astype(np.float64)

    def calibrate(self, valid: pd.DataFrame) -> None:
        """Fit one Platt scaler per head on validation rows with a complete horizon."""
        labels = stock_targets(valid, horizon_days=self.spec.horizon_days).to_numpy()
        logits = self.logits(valid)
        self.scalers = {h: PlattScaler.fit(logits[:, i], labels[:, i]) for i, h in enumerate(HEADS)}

    def predict_stock(self, stock: pd.DataFrame) -> pd.DataFrame:
        """Return ``p_stockout, p_overflow`` aligned to ``stock``."""
        logits = self.logits(stock)
        return pd.DataFrame(
            {f"p_{h}": self.scalers[h].apply(logits[:, i]) for i, h in enumerate(HEADS)},
            index=stock.index,
        )


def fit_stock(
    train: pd.DataFrame,
    *,
    valid: pd.DataFrame,
    spec: StockSpec,
    config: TrainConfig,
    device: torch.device,
    privatizer: Privatizer | None = None,
    on_progress: OnProgress | None = None,
    stats: ScalingStats | None = None,
    network: WideDeepNet | None = None,
) -> tuple[StockModel, FitResult]:
    """Train a stock-risk model on ``train`` and calibrate it on the later ``valid`` rows.

    Features use each series' past, so pass whole series (the rows just before ``valid``
    included) — :func:`~consortium.data.targets.time_split` parts are fine.
    """
    labels = stock_targets(train, horizon_days=spec.horizon_days)
    keep = labels.notna().any(axis=1).to_numpy(copy=True)
    if not keep.any():
        raise ConfigError("data", f"no stock rows with a complete {spec.horizon_days}-day horizon")
    feature_stats = stats if stats is not None else ScalingStats.from_columns(stock_numeric(train))
    net = network if network is not None else build_stock_network(spec)
    model = StockModel(spec=spec, stats=feature_stats, network=net)
    data, criterion = model.labelled(train)
    result = fit_module(
        net,
        data,
        criterion=criterion,
        config=config,
        device=device,
        privatizer=privatizer,
        on_progress=on_progress,
    )
    model.calibrate(valid)
    return model, result
