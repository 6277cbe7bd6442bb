"""The value of joining, as ``consortium value`` wrote it next to a pooled model (``value.csv``).

``consortium value --out-dir DIR`` scores, for every member on its own later rows, its
timetable, its local-only models, the pooled model and its own model, and writes the table to
``DIR/value.csv`` (the pooled model is ``DIR/model``). This reads it back for a chart.

Examples
--------
>>> # value_frame(Path("demo_output/federation/eta/model"))  # None before `consortium value`
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from consortium.errors import ModelError

VALUE_FILE = "value.csv"
NOT_MODELS = ("n", "best_local_only", "gain_percent", "chosen")


def value_path(model_dir: Path) -> Path:
    """Return where ``consortium value`` writes the table of the pooled model in ``model_dir``."""
    return Path(model_dir).parent / VALUE_FILE


def value_frame(model_dir: Path) -> pd.DataFrame | None:
    """Return the value of joining per member and model (long form), or ``None`` if not run.

    Columns: ``member``, ``model`` (``pooled``, ``own``, the local-only ones, ...), ``score``
    (the family's main metric, lower is better), ``gain_percent`` (the member's own model
    against its best local-only one) and ``chosen`` (which candidate its own model is).

    Raises
    ------
    ModelError
        If the file exists but is not a value table.
    """
    path = value_path(model_dir)
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ModelError(str(path), f"not a value table: {exc}") from exc
    if "member" not in table.columns or "gain_percent" not in table.columns:
        raise ModelError(str(path), "not a value table: no member or gain_percent column")
    models = [c for c in table.columns if c not in (*NOT_MODELS, "member")]
    long = table.melt(
        id_vars=["member", "gain_percent", "chosen"], value_vars=models, var_name="model",
        value_name="score",
    ).dropna(subset=["score"])  # fmt: skip
    return long[["member", "model", "score", "gain_percent", "chosen"]].reset_index(drop=True)


def value_metric_label(kind: str) -> str:
    """Return the main metric of the value table of a ``kind`` model, with its unit.

    Examples
    --------
    >>> value_metric_label("eta")
    'MAE of the arrival delay (minutes)'
    """
    from consortium.models.families import family  # noqa: PLC0415  (the registry imports torch)

    return str(family(kind).loss_label)
