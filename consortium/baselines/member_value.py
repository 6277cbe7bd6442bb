"""One member's value of joining: its own model chosen, then every model scored on its later rows.

The member's rows are cut in time (:func:`~consortium.data.targets.time_split`): the own model
is chosen on the validation period (:mod:`consortium.baselines.own_model`), and the timetable,
the local-only models, the pooled model and the own model are all scored on the test period,
which none of them saw. Local models are fitted on the training and validation periods. All of
it runs on the member's machine; nothing here is sent anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from consortium.baselines.empirical import ScheduleBaseline
from consortium.baselines.own_model import (
    OwnModel,
    choose_own_model,
    own_model_candidates,
)
from consortium.baselines.stock import StockRateBaseline
from consortium.data.targets import time_split
from consortium.errors import ConfigError
from consortium.evaluation.value import OWN
from consortium.models.family import ModelFamily, ModelSettings, StoredModel

logger = logging.getLogger(__name__)

__all__ = ["TIMETABLE", "MemberValue", "member_value"]

TIMETABLE = "timetable"
"""Name of the member's no-model reference in a score table (the schedule; stock: its rate)."""

_TIMETABLES: dict[str, Callable[[ModelSettings], Any]] = {
    "eta": lambda s: ScheduleBaseline(
        level=s.interval_level, tolerance_minutes=s.tolerance_minutes
    ),
    "stock": lambda s: StockRateBaseline(horizon_days=s.horizon_days),
}
"""Per family, the reference a member has without any model (registry, like the assessors)."""


@dataclass(frozen=True)
class MemberValue:
    """A member's scores on its test period (one row per model) and its own model."""

    member: str
    scores: pd.DataFrame
    own: OwnModel


def member_value(
    rows: pd.DataFrame,
    *,
    fam: ModelFamily,
    settings: ModelSettings,
    pooled: StoredModel,
    member: str,
    local_dp: StoredModel | None = None,
    seed: int = 0,
) -> MemberValue:
    """Choose ``member``'s own model and score every model on its test period.

    Parameters
    ----------
    rows
        The member's labelled rows, through its data contract.
    fam, settings
        The family and what its forecasts promise.
    pooled
        The pooled model of the federation.
    member
        The member id (named in logs and errors).
    local_dp
        The member's own DP model, when it has one.
    seed
        Seed of the LightGBM and fine-tuning runs.

    Raises
    ------
    ConfigError
        The rows are too few to cut in time, or the family has no timetable.
    """
    if fam.kind not in _TIMETABLES:
        raise ConfigError("model", f"no timetable reference for {fam.kind!r}")
    split = time_split(rows, time_column=fam.time_column)
    candidates = own_model_candidates(
        fam, pooled=pooled, settings=settings, local_dp=local_dp, seed=seed
    )
    own = choose_own_model(
        fam,
        train=split.train,
        valid=split.valid,
        candidates=candidates,
        settings=settings,
        member=member,
    )
    past = pd.concat([split.train, split.valid])
    lightgbm = (
        own.model  # the same recipe on the same rows: reuse it
        if own.chosen.name == "lightgbm"
        else fam.boosted(settings=settings, seed=seed, name="lightgbm").fit(past)
    )
    predictors: dict[str, Any] = {
        TIMETABLE: _TIMETABLES[fam.kind](settings).fit(past),
        "lightgbm": lightgbm,
    }
    if local_dp is not None:
        predictors["local_dp"] = local_dp
    predictors["pooled"] = pooled
    predictors[OWN] = own.model
    scores = fam.evaluate(predictors, split.test, settings)
    logger.info("%s: own model %s, test %s %.4g", member, own.chosen.name, fam.loss_metric,
                scores.loc[OWN, fam.loss_metric])  # fmt: skip
    return MemberValue(member=member, scores=scores, own=own)
