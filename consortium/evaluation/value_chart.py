"""The value-of-joining chart: each member's main metric per model, its gain written above."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from consortium.errors import ConfigError

__all__ = ["plot_value"]


def plot_value(
    table: pd.DataFrame,
    path: str | Path,
    *,
    models: Sequence[str],
    metric_label: str,
    title: str = "Does every member gain from joining?",
) -> Path:
    """Draw grouped bars (one group per member, one bar per model) and save a PNG.

    Parameters
    ----------
    table
        :func:`~consortium.evaluation.value.value_table` output.
    path
        Where the PNG goes (its folder is created).
    models
        Columns of ``table`` to draw, in order (absent ones are skipped).
    metric_label
        The y axis label, with its unit.
    title
        Title of the axes.

    Raises
    ------
    ConfigError
        ``table`` is empty or has none of ``models``.

    Examples
    --------
    >>> import tempfile
    >>> table = pd.DataFrame({"lightgbm": [20.0], "own": [18.0], "gain_percent": [10.0]},
    ...     index=pd.Index(["a"], name="member"))
    >>> out = plot_value(table, Path(tempfile.mkdtemp()) / "v.png", models=["lightgbm", "own"],
    ...                  metric_label="MAE (minutes)")
    >>> out.stat().st_size > 0
    True
    """
    drawn = [m for m in models if m in table.columns]
    if table.empty or not drawn:
        raise ConfigError("table", "nothing to draw")
    members = [str(m) for m in table.index]
    x = np.arange(len(members), dtype=float)
    width = 0.8 / len(drawn)
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415  (slow: off the ClientApp import path)
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(max(6.0, 1.4 * len(members) + 2.0), 4.5))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for i, model in enumerate(drawn):
        values = pd.to_numeric(table[model], errors="coerce").to_numpy(float)
        axes.bar(x + (i - (len(drawn) - 1) / 2) * width, values, width, label=model)
    tops = table[drawn].apply(pd.to_numeric, errors="coerce").max(axis=1).to_numpy(float)
    if "gain_percent" in table.columns:
        for xi, top, gain in zip(x, tops, table["gain_percent"], strict=True):
            if np.isfinite(top) and np.isfinite(gain):
                axes.annotate(f"{gain:+.1f} %", (xi, top), ha="center", va="bottom", fontsize=8)
    axes.set_xticks(x, members, rotation=30, ha="right")
    axes.set_ylabel(metric_label)
    axes.set_title(f"{title}\n(gain of joining: own model vs best local-only, in %)", fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    return out
