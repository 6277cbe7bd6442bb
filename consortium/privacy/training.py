"""One member's local private training, end to end: split, plan, train, calibrate, card.

This is what ``consortium train`` runs and what a federated round's ClientApp calls: it takes a
frame that already went through the data contract (see :func:`consortium.data.load_table`),
cuts it in time (train / validation / test), trains under the member's persistent budget
(holding the ledger's lock the whole time), calibrates on the validation period, scores the test
period and returns the model with its card. Raw values never enter the card.

Examples
--------
>>> import tempfile, pathlib  # doctest: +SKIP
>>> trained = train_local(legs, kind="eta", budget=PrivacyBudget(8.0, 1e-6),
...                       home=pathlib.Path(tempfile.mkdtemp()))  # doctest: +SKIP
>>> trained.card["privacy"]["epsilon_spent"] <= 8.0  # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from consortium import __version__
from consortium.data.targets import Split, time_split
from consortium.errors import ConfigError
from consortium.models.encoding import EncoderConfig
from consortium.models.families import family
from consortium.models.family import AnyModel, FitRequest, ModelFamily, ModelKind, ModelSettings
from consortium.models.network import WideDeepNet
from consortium.models.progress import OnProgress
from consortium.models.training import FitResult, TrainConfig, pick_device
from consortium.privacy.budget import ACCOUNTANT, PrivacyBudget, default_delta
from consortium.privacy.engine import DPEngine
from consortium.privacy.ledger import PrivacyLedger

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedModel:
    """What :func:`train_local` produced: the model, its card and the time split it used."""

    model: AnyModel
    card: dict[str, Any]
    split: Split
    fit: FitResult


def requested_budget(
    epsilon: float,
    delta: float | None,
    *,
    ledger: PrivacyLedger,
    n_rows: int,
    max_delta: float | None = None,
) -> PrivacyBudget:
    """Build the run's budget; δ defaults to the ledger's, else ``min(1e-5, 1/(10 n), max_delta)``.

    Parameters
    ----------
    epsilon, delta
        The member's own budget (``delta``: ``None`` lets the ledger or the default choose).
    ledger
        The member's accountant (its δ, once recorded, is the only one it adds ε at).
    n_rows
        Training rows (δ must stay below ``1/n``).
    max_delta
        The board's largest δ (:attr:`~consortium.policy.model.ConsortiumPolicy.max_delta`);
        ``None``: no board rule given.

    Raises
    ------
    ConfigError
        ``epsilon``/``delta`` out of range, δ ≥ 1/n, δ different from the ledger's, or δ above
        the board's ``max_delta`` (the member refuses to train rather than weaken δ).
    """
    fallback = default_delta(n_rows)
    if max_delta is not None:
        fallback = min(fallback, max_delta)
    resolved = ledger.resolve_delta(delta, fallback=fallback)
    if max_delta is not None and resolved > max_delta:
        raise ConfigError(
            "delta", f"δ={resolved:g} is above the board's max_delta={max_delta:g}; refused"
        )
    budget = PrivacyBudget(epsilon=epsilon, delta=resolved)
    budget.check_rows(n_rows)
    return budget


def train_local(
    frame: pd.DataFrame,
    *,
    kind: ModelKind,
    epsilon: float,
    home: Path,
    delta: float | None = None,
    max_delta: float | None = None,
    interval_level: float = 0.8,
    tolerance_minutes: int = 15,
    horizon_days: int = 7,
    epochs: int | None = None,
    seed: int = 0,
    member: str | None = None,
    config: TrainConfig | None = None,
    encoder: EncoderConfig | None = None,
    on_progress: OnProgress | None = None,
    device: torch.device | None = None,
    network: WideDeepNet | None = None,
    stats: Any = None,
    noise_seed: int | None = None,
) -> TrainedModel:
    """Train one member's model privately under its persistent budget and describe it.

    Parameters
    ----------
    frame
        Labelled legs (``kind="eta"``) or stock rows (``kind="stock"``), contract-checked.
    kind
        Which model.
    epsilon, delta
        The member's *total* budget for this model (summed over every run); ``math.inf``
        trains without privacy and makes the ledger's ε infinite for good.
    max_delta
        The board's largest δ: a δ above it is refused (``ConfigError`` naming ``delta``).
    home
        Member-local state directory; the accountant lives in ``home/privacy``.
    interval_level, tolerance_minutes, horizon_days
        From :class:`~consortium.config.Settings`.
    epochs, seed, config, encoder
        Training settings (``epochs`` overrides ``config.epochs``); ``seed`` fixes the
        initialisation only, never the DP noise.
    noise_seed
        ``None`` (default): DP noise and Poisson sampling from OS entropy. An int makes them
        reproducible, for tests and benchmarks only (see :mod:`consortium.privacy.engine`).
    member
        Named in errors.
    on_progress
        Receives a :class:`~consortium.models.progress.ProgressEvent` per step.
    device
        Default: CUDA when available, else CPU.
    network
        Start from these weights (a federated round's global model); default: fresh.
    stats
        Consortium-wide scaling statistics (secure-summed); default: this member's own. For
        ETA a ``(features, target)`` pair of :class:`~consortium.models.encoding.ScalingStats`
        (see :func:`~consortium.models.eta.eta_scaling_stats`), for stock one ``ScalingStats``.

    Raises
    ------
    ConfigError
        A bad parameter, named.
    BudgetExceeded
        The member's budget is spent (training is refused, or stopped and the steps recorded).
    """
    fam = family(kind)
    settings = ModelSettings(
        interval_level=interval_level,
        tolerance_minutes=tolerance_minutes,
        horizon_days=horizon_days,
    )
    if math.isnan(epsilon) or epsilon <= 0:
        raise ConfigError("epsilon", f"must be > 0 (or inf for no privacy), got {epsilon}")
    cfg = replace(config or fam.train_defaults, seed=seed)
    if epochs is not None:
        cfg = replace(cfg, epochs=epochs)
    split = time_split(frame, time_column=fam.time_column)
    device = device or pick_device()
    with PrivacyLedger.locked(home, kind) as ledger:
        budget = requested_budget(
            epsilon, delta, ledger=ledger, n_rows=len(split.train), max_delta=max_delta
        )
        engine = DPEngine(
            ledger=ledger,
            budget=budget,
            max_grad_norm=cfg.max_grad_norm,
            seed=noise_seed,
            member=member,
        )
        spent_before = ledger.spent(budget.delta)
        model, fit = fam.fit(
            split.train,
            split.valid,
            FitRequest(
                settings=settings,
                config=cfg,
                device=device,
                encoder=encoder,
                privatizer=engine,
                on_progress=on_progress,
                stats=stats,
                network=network,
            ),
        )
        metrics = fam.evaluate({model.name: model}, split.test, settings)
        spent_after = ledger.spent(budget.delta)
    model.network.to("cpu")
    card = _card(
        fam=fam,
        model=model,
        split=split,
        fit=fit,
        engine=engine,
        budget=budget,
        spent_before=spent_before,
        spent_after=spent_after,
        metrics=metrics.iloc[0].to_dict(),
        device=device,
        seed=seed,
        config=cfg,
        settings=settings,
    )
    return TrainedModel(model=model, card=card, split=split, fit=fit)


def _card(
    *,
    fam: ModelFamily,
    model: AnyModel,
    split: Split,
    fit: FitResult,
    engine: DPEngine,
    budget: PrivacyBudget,
    spent_before: float,
    spent_after: float,
    metrics: dict[str, Any],
    device: torch.device,
    seed: int,
    config: TrainConfig,
    settings: ModelSettings,
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "kind": fam.kind,
        "name": model.name,
        "kit_version": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "data_contract": fam.contract_version,
        "features": {k: list(v) for k, v in fam.features.items()},
        "rows": {
            "train": len(split.train),
            "validation": len(split.valid),
            "test": len(split.test),
        },
        "privacy": {
            "private": engine.private,
            "epsilon_budget": budget.epsilon,
            "delta": budget.delta,
            "epsilon_spent": spent_after,
            "epsilon_spent_this_run": (
                spent_after - spent_before if math.isfinite(spent_after) else math.inf
            ),
            "accountant": ACCOUNTANT,
            "noise_multiplier": engine.noise_multiplier,
            "sample_rate": engine.sample_rate,
            "steps": fit.steps,
            "max_grad_norm": engine.max_grad_norm,
            "clipping": "opacus ghost clipping, per sample",
            "sampling": "poisson",
            "not_covered_by_epsilon": (
                "feature/target scaling statistics (count, sum, sum of squares) of the training "
                "rows and the calibration constants fitted on validation rows"
            ),
        },
        "training": {
            "epochs": fit.epochs_done,
            "expected_batch_size": fit.batch_size,
            "learning_rate": config.learning_rate,
            "seconds": round(fit.seconds, 3),
            "final_loss": fit.final_loss,
        },
        "device": str(device),
        "seed": seed,
        "metrics_test": metrics,
        "evaluated_on": "the member's own test rows: the last 25% of the period (time split)",
    }
    card.update(fam.card_details(model, metrics, settings))
    return card
