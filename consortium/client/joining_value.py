"""One member's value of joining, on its own machine: its own model, pooled and local, compared.

The one-member form of ``consortium value``: the member's own model is chosen on its validation
period and written to its state folder, then its timetable, its local-only models, the pooled
model and its own model are scored on its later rows (:mod:`consortium.baselines.member_value`),
and the gain of joining is the table of :func:`consortium.evaluation.value.value_table`.
Nothing is sent anywhere.

Examples
--------
>>> result = value_of_joining(Path("members/rhine-road"), kind="eta",
...                           pooled_dir=Path("runs/eta/model"))  # doctest: +SKIP
>>> float(result.row["gain_percent"])  # doctest: +SKIP
12.3
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from consortium.baselines.member_value import member_value
from consortium.baselines.own_model import local_only, write_own_model
from consortium.data import load_table
from consortium.data.member_files import member_data_file
from consortium.evaluation.value import value_details, value_table
from consortium.models.families import family
from consortium.models.family import ModelSettings
from consortium.models.store import load_stored_model, read_card
from consortium.privacy.state import member_state_dir

__all__ = ["JoiningValue", "METRIC_UNITS", "value_of_joining"]

METRIC_UNITS: dict[str, tuple[str, str]] = {
    "mae": ("MAE of the arrival delay", "min"),
    "stockout_brier": ("Brier score of P(stock-out)", "on a 0-1 scale"),
}
"""Per main metric, its name for people and its unit (for the verdict)."""


@dataclass(frozen=True)
class JoiningValue:
    """A member's value of joining for one model."""

    member: str
    kind: str
    row: pd.Series
    """Its row of the value table: one column per model, ``best_local_only``, ``gain_percent``
    and ``chosen``."""
    scores: pd.DataFrame
    """Every model's test-period metrics (one row per model)."""
    own_model_dir: Path
    metric: str
    metric_label: str
    unit: str


def value_of_joining(
    member_dir: Path,
    *,
    kind: str,
    pooled_dir: Path,
    state: Path | None = None,
    seed: int = 0,
) -> JoiningValue:
    """Choose the member's own model, write it to its state folder, and score every model.

    Parameters
    ----------
    member_dir
        The member's data folder (its contract files and ``sources.json``).
    kind
        ``eta`` or ``stock``.
    pooled_dir
        The pooled model directory the federation wrote.
    state
        The members' state root: the own model goes to ``state/<member>`` (default: the
        state folder beside the member's data, as ``consortium value``).
    seed
        Seed of the local LightGBM runs.

    Raises
    ------
    ConfigError
        The member's rows cannot be split or scored (too few, wrong contract).
    """
    fam = family(kind)
    member = Path(member_dir).name
    card = read_card(pooled_dir)
    settings = ModelSettings.of_card(card)
    rows = load_table(member_data_file(member_dir, contract=fam.contract), contract=fam.contract,
                      purpose=fam.training_purpose, labelled=True).frame  # fmt: skip
    result = member_value(rows, fam=fam, settings=settings, pooled=load_stored_model(pooled_dir),
                          member=member, seed=seed)  # fmt: skip
    scores = {member: result.scores}
    table = value_table(scores, metric=fam.loss_metric, local_only=local_only(fam),
                        chosen={member: result.own.chosen.name})  # fmt: skip
    details = value_details(scores, metrics=fam.value_metrics).loc[member]
    folder = member_state_dir(member_dir, member=member, state_dir=state)
    target = write_own_model(result.own, folder)
    label, unit = METRIC_UNITS.get(fam.loss_metric, (fam.loss_label, ""))
    return JoiningValue(member=member, kind=fam.kind, row=table.loc[member], scores=details,
                        own_model_dir=target, metric=fam.loss_metric, metric_label=label,
                        unit=unit)  # fmt: skip
