"""Reliability (calibration) curves of probability forecasts and their diagram as a PNG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from consortium.errors import ConfigError
from consortium.evaluation._arrays import as_outcome, as_probability, same_length


def reliability_curve(y_true: npt.ArrayLike, p: npt.ArrayLike, *, bins: int = 10) -> pd.DataFrame:
    """Return the observed event rate per equal-width bin of predicted probability.

    Bin i covers ``[i / bins, (i + 1) / bins)``; the last one also holds ``p == 1``.

    Returns
    -------
    pandas.DataFrame
        ``bins`` rows: ``bin`` (0-based), ``mean_predicted``, ``observed_rate`` (both NaN for
        an empty bin) and ``count``.

    Raises
    ------
    ConfigError
        ``bins`` is not positive, lengths differ, an outcome is not binary or a probability
        is outside [0, 1].

    Examples
    --------
    >>> curve = reliability_curve([False, True, True], [0.1, 0.8, 0.9], bins=2)
    >>> curve["observed_rate"].tolist(), curve["count"].tolist()
    ([0.0, 1.0], [1, 2])
    """
    if bins <= 0:
        raise ConfigError("bins", "must be positive")
    truth, prob = as_outcome("y_true", y_true), as_probability("p", p)
    same_length(y_true=truth, p=prob)
    which = np.minimum((prob * bins).astype(np.int64), bins - 1)
    grouped = pd.DataFrame({"bin": which, "p": prob, "y": truth}).groupby("bin")
    curve = grouped.agg(
        mean_predicted=("p", "mean"), observed_rate=("y", "mean"), count=("y", "size")
    ).reindex(pd.RangeIndex(bins, name="bin"))
    curve["count"] = curve["count"].fillna(0).astype("int64")
    return curve.reset_index()


def plot_reliability(
    curves: Mapping[str, pd.DataFrame], path: str | Path, *, title: str = "Reliability diagram"
) -> Path:
    """Draw reliability curves against the diagonal of perfect calibration and save a PNG.

    Uses matplotlib's Agg canvas directly, so no display or pyplot state is involved. The
    parent folder is created when missing.

    Parameters
    ----------
    curves
        Curves from :func:`reliability_curve`, by the legend label of each.
    path
        Where the PNG goes.
    title
        Title of the axes.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ConfigError
        ``curves`` is empty.

    Examples
    --------
    >>> import tempfile
    >>> curve = reliability_curve([False, True], [0.2, 0.7])
    >>> out = plot_reliability({"model": curve}, Path(tempfile.mkdtemp()) / "r.png")
    >>> out.read_bytes()[1:4]
    b'PNG'
    """
    if not curves:
        raise ConfigError("curves", "no curves to plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415  (slow: off the ClientApp import path)
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(5.0, 5.0))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", label="perfect calibration")
    for label, curve in curves.items():
        shown = curve.dropna(subset=["mean_predicted", "observed_rate"])
        axes.plot(shown["mean_predicted"], shown["observed_rate"], marker="o", label=label)
    axes.set(
        xlim=(0.0, 1.0),
        ylim=(0.0, 1.0),
        xlabel="mean predicted probability",
        ylabel="observed frequency",
        title=title,
    )
    axes.legend(loc="upper left")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png", dpi=100)
    return target
