"""The value of joining: each member's scores on its own later rows, and its gain in percent.

Pure tables over the per-member score tables of :mod:`consortium.evaluation.report` (one row per
model: the member's timetable, its local-only models, the pooled model and its own model). The
gain of joining compares the member's own model with its best local-only model on the main
metric (lower is better: MAE for ETA, Brier for stock)::

    gain % = 100 * (best local-only - own) / best local-only

Examples
--------
>>> scores = pd.DataFrame({"mae": [30.0, 20.0, 25.0, 18.0], "n": [10, 10, 10, 10]},
...     index=pd.Index(["timetable", "lightgbm", "pooled", "own"], name="model"))
>>> table = value_table({"carrier-a": scores}, metric="mae", local_only=("lightgbm",))
>>> float(table.loc["carrier-a", "gain_percent"])
10.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from consortium.errors import ConfigError

__all__ = ["OWN", "value_details", "value_markdown", "value_table"]

OWN = "own"
"""Name of the member's own model in a score table."""


def value_table(
    scores: Mapping[str, pd.DataFrame],
    *,
    metric: str,
    local_only: Sequence[str],
    chosen: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return one row per member: ``metric`` of every model, the best local-only one and the gain.

    Parameters
    ----------
    scores
        Per member, a score table indexed by model (with ``metric`` and ``n`` columns and an
        ``own`` row).
    metric
        The main metric, lower is better.
    local_only
        Names of the local-only models (those present in a member's table count).
    chosen
        Per member, which candidate its own model is (shown in a ``chosen`` column).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``member``: ``n``, one column per model (``metric`` of it, NaN where the
        member has none), ``best_local_only`` (its name), ``gain_percent`` and ``chosen``.

    Raises
    ------
    ConfigError
        No members, a table lacks ``metric`` or the ``own`` row, or has no local-only model.
    """
    if not scores:
        raise ConfigError("scores", "no member to report on")
    models: list[str] = []
    rows: dict[str, dict[str, object]] = {}
    for member, table in scores.items():
        if metric not in table.columns or OWN not in table.index:
            raise ConfigError("scores", f"{member}: needs a {metric!r} column and an own row")
        local = [m for m in local_only if m in table.index and np.isfinite(table.loc[m, metric])]
        if not local:
            raise ConfigError("scores", f"{member}: no local-only model to compare with")
        best = min(local, key=lambda m: float(table.loc[m, metric]))
        reference, own = float(table.loc[best, metric]), float(table.loc[OWN, metric])
        gain = 100.0 * (reference - own) / reference if reference != 0 else float("nan")
        row: dict[str, object] = {"n": int(table["n"].max())}
        for model in table.index:
            if model not in models:
                models.append(str(model))
            row[str(model)] = float(table.loc[model, metric])
        row.update(best_local_only=best, gain_percent=gain, chosen=(chosen or {}).get(member, ""))
        rows[member] = row
    columns = ["n", *models, "best_local_only", "gain_percent", "chosen"]
    table = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns)
    table.index.name = "member"
    return table


def value_details(scores: Mapping[str, pd.DataFrame], *, metrics: Sequence[str]) -> pd.DataFrame:
    """Return one row per member and model with ``metrics`` (long form of every score table)."""
    frames = []
    for member, table in scores.items():
        present = [m for m in metrics if m in table.columns]
        part = table[[*present, "n"]].reset_index().rename(columns={"index": "model"})
        frames.append(part.assign(member=member))
    if not frames:
        raise ConfigError("scores", "no member to report on")
    details = pd.concat(frames, ignore_index=True)
    return details.set_index(["member", "model"])


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "—" if not np.isfinite(value) else f"{value:.4g}"
    return str(value)


def value_markdown(table: pd.DataFrame) -> str:
    """Return ``table`` as a GitHub markdown table (index first; NaN shown as ``—``).

    Examples
    --------
    >>> frame = pd.DataFrame({"mae": [1.5]}, index=pd.Index(["a"], name="member"))
    >>> print(value_markdown(frame))
    | member | mae |
    |---|---:|
    | a | 1.5 |
    """
    names = [str(n) for n in table.index.names]
    flat = table.reset_index()
    header = "| " + " | ".join(str(c) for c in flat.columns) + " |"
    align = "|" + "|".join("---" if c in names else "---:" for c in flat.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in flat.itertuples(False)]
    return "\n".join([header, align, *body])
