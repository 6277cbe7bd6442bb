"""A member's own model: the best of the pooled model adapted to its rows and its local-only models.

After a federation each member makes, on its own machine, **its own model**, which never leaves
it. The candidates are

* ``pooled``: the pooled model as it is;
* ``fine_tuned``: the pooled network trained further on the member's training rows, without DP
  (the rows never leave; the card says so), early-stopped and calibrated on the latest slice of
  those rows;
* ``stacked``: a LightGBM on the member's rows that also reads the pooled model's forecasts;
* its local-only models: for ETA ``timetable`` (the member's own schedule, no model: delay 0,
  see :class:`~consortium.models.timetable.TimetableEta`; its rows only size the interval and
  on-time rate, on its machine), then ``local_dp`` (its own DP model, when it has one) and
  ``lightgbm`` (a LightGBM on its rows only).

Every candidate is fitted on the member's training period and scored on its validation period
(the time-ordered tail of the rows it trained on, never the later test period) by its family's
main metric (:attr:`~consortium.models.family.ModelFamily.loss_metric`: MAE for ETA, Brier for
stock). The best local-only candidate is kept unless a candidate that uses the pool beats it there
clearly (by more than a standard error of the paired per-row differences); then the lowest of those
wins. So the chosen model is by construction never worse on validation than the best local-only
candidate (for ETA: never worse than the member's own timetable), and a close call on a short
validation period keeps the local one. The winner is then refitted with the same recipe on
training and validation rows together, and written with its card (which lists every candidate)
to ``<state>/models/<kind>/`` (:func:`write_own_model`), a model directory that
``consortium predict`` and ``consortium evaluate`` read.
"""

from __future__ import annotations

import copy
import logging
import math
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from consortium import __version__
from consortium.errors import ConfigError
from consortium.models.boosting import holdout_rows
from consortium.models.family import AnyModel, FitRequest, ModelFamily, ModelSettings, StoredModel
from consortium.models.store import save_model

logger = logging.getLogger(__name__)

__all__ = [
    "LOCAL_ONLY",
    "Candidate",
    "local_only",
    "OwnModel",
    "choose_own_model",
    "own_model_candidates",
    "own_model_dir",
    "write_own_model",
]

LOCAL_ONLY: tuple[str, ...] = ("timetable", "local_dp", "lightgbm")
"""Names of the local-only candidates (the bar the own model must clear); see :func:`local_only`."""


def local_only(fam: ModelFamily) -> tuple[str, ...]:
    """Return the local-only candidates' names for ``fam`` (the timetable where it is one).

    A stock value table also has a ``timetable`` row (a rate baseline), but the stock own model
    is not chosen against it, so the gain of joining must not count it.
    """
    return (
        LOCAL_ONLY
        if fam.timetable is not None
        else tuple(n for n in LOCAL_ONLY if n != "timetable")
    )


DEFAULT_MARGIN_SE = 1.0
"""How many standard errors of the paired loss difference a pooled candidate must win by."""

_TUNE_FRACTION = 0.15
"""Latest share of the rows a fine-tuning run early-stops and calibrates on."""


@dataclass(frozen=True)
class Candidate:
    """One recipe for a member's own model."""

    name: str
    fit: Callable[[pd.DataFrame], StoredModel]
    """Fit on the given rows (earlier in time than the rows it is scored on) and return it."""
    local_only: bool
    rows_without_dp: bool
    """Whether the fit uses the member's rows without differential privacy."""
    description: str


@dataclass(frozen=True)
class OwnModel:
    """The chosen candidate, refitted, with the validation scores of every candidate."""

    model: StoredModel
    chosen: Candidate
    validation: pd.DataFrame
    """``family.evaluate`` table of every candidate on the validation period."""
    metric: str
    card: dict[str, Any]


def own_model_dir(state: Path, kind: str) -> Path:
    """Return where a member's own model of ``kind`` lives: ``<state>/models/<kind>``."""
    return Path(state) / "models" / kind


def _tail_split(rows: pd.DataFrame, time_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    fit, tune = holdout_rows(rows[time_column], valid_fraction=_TUNE_FRACTION)
    if len(tune) == 0:
        raise ConfigError("rows", f"too few rows ({len(rows)}) to fine-tune and calibrate on")
    return rows.iloc[fit], rows.iloc[tune]


def _fine_tuner(
    fam: ModelFamily, pooled: AnyModel, settings: ModelSettings, *, seed: int
) -> Callable[[pd.DataFrame], StoredModel]:
    defaults = fam.train_defaults
    config = replace(
        defaults,
        epochs=max(4, defaults.epochs // 2),
        learning_rate=defaults.learning_rate / 3.0,
        seed=seed,
    )

    def fit(rows: pd.DataFrame) -> StoredModel:
        train, tune = _tail_split(rows, fam.time_column)
        request = FitRequest(
            settings=settings,
            config=config,
            device=torch.device("cpu"),
            encoder=pooled.spec.encoder,
            stats=fam.stats_of(pooled),
            network=copy.deepcopy(pooled.network),
        )
        model, _ = fam.fit(train, tune, request)
        model.name = "fine_tuned"
        return model

    return fit


def own_model_candidates(
    fam: ModelFamily,
    *,
    pooled: StoredModel,
    settings: ModelSettings,
    local_dp: StoredModel | None = None,
    seed: int = 0,
) -> list[Candidate]:
    """Return a member's candidates, local-only ones first (for ETA the timetable first of all).

    Parameters
    ----------
    fam
        The model family.
    pooled
        The pooled model the federation produced.
    settings
        Interval level, on-time tolerance, horizon.
    local_dp
        The member's own DP model, when it has one.
    seed
        Seed of the LightGBM and fine-tuning runs.
    """
    candidates: list[Candidate] = []
    timetable = fam.timetable
    if timetable is not None:
        candidates.append(
            Candidate(
                "timetable",
                lambda rows: timetable(settings).fit(rows),
                True,
                True,  # its interval and on-time rate are read from the raw rows
                "the member's own timetable: no model (delay 0, its past delays' range)",
            )
        )
    if local_dp is not None:
        candidates.append(
            Candidate("local_dp", lambda rows: local_dp, True, False, "the member's local DP model")
        )
    candidates.append(
        Candidate(
            "lightgbm",
            lambda rows: fam.boosted(settings=settings, seed=seed, name="lightgbm").fit(rows),
            True,
            True,
            "LightGBM on the member's own rows only",
        )
    )
    candidates.append(
        Candidate("pooled", lambda rows: pooled, False, False, "the pooled model as it is")
    )
    if isinstance(pooled, AnyModel):
        candidates.append(
            Candidate(
                "fine_tuned",
                _fine_tuner(fam, pooled, settings, seed=seed),
                False,
                True,
                "the pooled network fine-tuned on the member's rows without DP",
            )
        )
    candidates.append(
        Candidate(
            "stacked",
            lambda rows: fam.boosted(settings=settings, seed=seed, base=pooled, name="stacked").fit(
                rows
            ),
            False,
            True,
            "LightGBM on the member's rows with the pooled model's forecasts as features",
        )
    )
    return candidates


def choose_own_model(
    fam: ModelFamily,
    *,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    candidates: Sequence[Candidate],
    settings: ModelSettings,
    member: str | None = None,
    margin_se: float = DEFAULT_MARGIN_SE,
) -> OwnModel:
    """Fit every candidate on ``train``, keep the best on ``valid``, refit it on both.

    The best local-only candidate (lowest main metric on ``valid``) is the default; a candidate
    that uses the pool replaces it only when its validation rows say so clearly: the mean of the
    paired per-row loss differences (:attr:`~consortium.models.family.ModelFamily.row_losses`)
    must exceed ``margin_se`` standard errors. Among those that do, the lowest metric wins. On a
    short validation period a close call keeps the local model, whose later rows are then not
    put at risk by noise in the choice.

    A candidate that cannot be fitted on these rows (e.g. too few to fine-tune on) is left out
    and named in the card's ``skipped``; local-only candidates must fit.

    Raises
    ------
    ConfigError
        No local-only candidate (nothing to compare joining against), or one cannot be fitted.
    """
    if not any(c.local_only for c in candidates):
        raise ConfigError("candidates", "at least one local-only candidate is needed")
    metric = fam.loss_metric
    tables = []
    fitted: dict[str, StoredModel] = {}
    skipped: dict[str, str] = {}
    for candidate in candidates:
        try:
            fitted[candidate.name] = candidate.fit(train)
        except ConfigError as exc:
            if candidate.local_only:
                raise
            skipped[candidate.name] = str(exc)  # e.g. too few rows to fine-tune on
            continue
        tables.append(fam.evaluate({candidate.name: fitted[candidate.name]}, valid, settings))
    validation = pd.concat(tables)
    kept = [c for c in candidates if c.name in fitted]
    local = min((c for c in kept if c.local_only), key=lambda c: validation.loc[c.name, metric])
    best, margins = local, {}
    for candidate in kept:
        if candidate.local_only:
            continue
        margins[candidate.name] = _paired_gain(fam, fitted, local.name, candidate.name, valid,
                                               settings)  # fmt: skip
        clears = margins[candidate.name] > margin_se
        if clears and validation.loc[candidate.name, metric] < validation.loc[best.name, metric]:
            best = candidate
    model = best.fit(pd.concat([train, valid])) if best.rows_without_dp else fitted[best.name]
    logger.info("own model of %s: %s (validation %s %.4g)", member, best.name, metric,
                validation.loc[best.name, metric])  # fmt: skip
    card = _card(fam, best, validation, metric, settings, train=train, valid=valid)
    card["candidates"] = {
        c.name: {"description": c.description, "local_only": c.local_only} for c in candidates
    }
    card["skipped"] = skipped
    card["gain_over_best_local_in_standard_errors"] = margins
    card["required_standard_errors"] = margin_se
    return OwnModel(model=model, chosen=best, validation=validation, metric=metric, card=card)


def _paired_gain(
    fam: ModelFamily,
    fitted: Mapping[str, StoredModel],
    local: str,
    other: str,
    valid: pd.DataFrame,
    settings: ModelSettings,
) -> float:
    """Mean per-row loss of ``local`` minus ``other`` on ``valid``, in standard errors."""
    if fam.row_losses is None:
        raise ConfigError("model", f"family {fam.kind!r} has no per-row losses to compare")
    diff = fam.row_losses(fitted[local], valid, settings) - fam.row_losses(
        fitted[other], valid, settings
    )
    if len(diff) < 2:
        return 0.0
    spread = float(np.std(diff, ddof=1)) / math.sqrt(len(diff))
    mean = float(np.mean(diff))
    if spread == 0.0:
        return math.inf if mean > 0 else 0.0
    return mean / spread


def _card(
    fam: ModelFamily,
    best: Candidate,
    validation: pd.DataFrame,
    metric: str,
    settings: ModelSettings,
    *,
    train: pd.DataFrame,
    valid: pd.DataFrame,
) -> dict[str, Any]:
    local = [n for n in validation.index if n in LOCAL_ONLY]
    return {
        "kind": fam.kind,
        "name": "own",
        "role": "the member's own model: made and kept on its machine, never sent",
        "kit_version": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "data_contract": fam.contract_version,
        "chosen": best.name,
        "chosen_description": best.description,
        "chosen_by": (
            f"lowest {metric} on the member's validation period; a candidate using the pool "
            "must beat the best local-only one there by more than its paired standard error"
        ),
        "validation_metric": metric,
        "validation": {
            str(name): {str(k): int(v) if k == "n" else float(v) for k, v in row.items()}
            for name, row in validation.iterrows()
        },
        "best_local_only": min(local, key=lambda n: validation.loc[n, metric]),
        "rows": {"train": len(train), "validation": len(valid)},
        "refit": (
            "refitted with the same recipe on the training and validation periods together"
            if best.rows_without_dp
            else "used as it is"
        ),
        "privacy": {
            "uses_member_rows_without_dp": best.rows_without_dp,
            "note": (
                "trained on the member's own rows without differential privacy: it stays on the "
                "member's machine and must never be shared; anything that leaves (the pooled "
                "model, updates, answers) stays under the member's ε"
                if best.rows_without_dp
                else "adds no use of the member's rows beyond what its ε already covers"
            ),
        },
        "interval_level": settings.interval_level,
        "on_time_tolerance_minutes": settings.tolerance_minutes,
        "horizon_days": settings.horizon_days,
    }


def write_own_model(
    own: OwnModel, state: Path, *, extra_card: Mapping[str, Any] | None = None
) -> Path:
    """Write ``own`` to ``<state>/models/<kind>/``, replacing the previous one whole.

    The model is written to a fresh folder beside the target and moved into place, so a reader
    never sees a half-written model directory.
    """
    target = own_model_dir(state, str(own.card["kind"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        save_model(own.model, fresh, card={**own.card, **dict(extra_card or {})})
        if target.exists():
            old = target.with_name(f".{target.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            fresh.rename(target)
            shutil.rmtree(old)
        else:
            fresh.rename(target)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return target
