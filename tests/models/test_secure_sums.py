"""What members compute for the consortium's secure sums, and what the coordinator rebuilds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from consortium.errors import ConfigError
from consortium.models.encoding import ScalingStats
from consortium.models.eta import EtaSpec, eta_scaling_stats
from consortium.models.families import family
from consortium.models.secure_sums import SCORE_EDGES, offset_from_histogram, score_histogram
from consortium.models.stock import stock_numeric
from consortium.synth import generate_consortium
from tests.models.conftest import make_legs

BIN_WIDTH = float(SCORE_EDGES[1] - SCORE_EDGES[0])

in_range_scores = arrays(
    np.float64,
    st.integers(1, 300),
    elements=st.floats(float(SCORE_EDGES[0]), float(SCORE_EDGES[-1]), allow_nan=False),
)
levels = st.floats(0.05, 0.99)


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The exact split-conformal quantile: the ``ceil((n + 1) level)``-th smallest score."""
    ordered = np.sort(scores)
    rank = min(len(ordered), math.ceil((len(ordered) + 1) * level))
    return float(ordered[rank - 1])


def _assert_same_stats(got: ScalingStats, want: ScalingStats) -> None:
    assert got.features == want.features
    np.testing.assert_array_equal(got.count, want.count)
    np.testing.assert_allclose(got.total, want.total, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.total_sq, want.total_sq, rtol=1e-9, atol=1e-9)


# --- calibration histograms ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(scores=in_range_scores, level=levels)
def test_histogram_offset_never_undercuts_the_exact_quantile_by_more_than_a_bin(
    scores: np.ndarray, level: float
) -> None:
    # Prepare
    exact = _conformal_quantile(scores, level)
    # Execute
    offset = offset_from_histogram(score_histogram(scores), level=level)
    # Assert: rounded up to a bin edge, so the coverage guarantee is kept and little is lost.
    assert offset >= exact
    assert offset - exact <= BIN_WIDTH + 1e-12


@settings(max_examples=30, deadline=None)
@given(
    parts=st.lists(in_range_scores, min_size=2, max_size=5),
    level=levels,
)
def test_summed_member_histograms_give_the_pooled_offset(
    parts: list[np.ndarray], level: float
) -> None:
    # Prepare: each member histograms its own scores; the secure sum adds the histograms.
    summed = sum(score_histogram(p) for p in parts)
    pooled = np.concatenate(parts)
    # Execute
    offset = offset_from_histogram(summed, level=level)
    # Assert
    np.testing.assert_array_equal(summed, score_histogram(pooled))
    assert offset == offset_from_histogram(score_histogram(pooled), level=level)
    assert 0.0 <= offset - _conformal_quantile(pooled, level) <= BIN_WIDTH + 1e-12


def test_scores_beyond_the_edges_still_get_an_offset_above_them() -> None:
    # Prepare: a quarter of the scores above the last edge (heavy-tailed member).
    scores = np.concatenate([np.linspace(-1.0, 1.0, 30), np.full(10, 9.5)])
    # Execute
    offset = offset_from_histogram(score_histogram(scores), level=0.9)
    # Assert
    assert offset >= _conformal_quantile(scores, 0.9) == 9.5


def test_histogram_ignores_non_finite_scores() -> None:
    h = score_histogram(np.array([0.1, np.nan, np.inf, -0.1]))
    assert h.sum() == 2
    assert h.shape == (len(SCORE_EDGES) + 1,)


def test_offset_of_an_empty_histogram_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as exc:
        offset_from_histogram(np.zeros(len(SCORE_EDGES) + 1), level=0.8)
    assert exc.value.name == "calibration"


# --- scaling statistics -------------------------------------------------------------------------


def _split_members(frame: pd.DataFrame, key: pd.Series, n: int) -> list[pd.DataFrame]:
    codes = pd.factorize(key)[0] % n
    return [frame[codes == i] for i in range(n)]


def test_eta_statistics_from_member_sums_equal_the_pooled_statistics() -> None:
    # Prepare: 3 members (by carrier) of labelled legs.
    legs = make_legs(900, seed=3)
    members = _split_members(legs, legs["carrier"], 3)
    parts = [family("eta").member_statistics(m) for m in members]
    sums = {name: sum(p[name] for p in parts) for name in family("eta").statistics_shapes}
    # Execute
    features, target = family("eta").statistics_from_sums(sums)
    # Assert: as if the coordinator had computed them on the pooled rows.
    want_features, want_target = eta_scaling_stats(legs, spec=EtaSpec())
    _assert_same_stats(features, want_features)
    _assert_same_stats(target, want_target)
    assert {k: v.shape for k, v in parts[0].items()} == family("eta").statistics_shapes


def test_eta_member_statistics_skip_unlabelled_legs() -> None:
    legs = make_legs(200, seed=4)
    unlabelled = legs.assign(actual_arrival=legs["actual_arrival"].where(legs.index < 0))
    both = family("eta").member_statistics(pd.concat([legs, unlabelled]))
    only = family("eta").member_statistics(legs)
    np.testing.assert_array_equal(both["features"], only["features"])
    np.testing.assert_array_equal(both["target"], only["target"])


def test_stock_statistics_from_member_sums_equal_the_pooled_statistics(
    tmp_path: Path,
) -> None:
    # Prepare: the three synthetic warehouses, each with its own series.
    generate_consortium(tmp_path, seed=7, scale=0.02)
    members = [
        pd.read_csv(p, parse_dates=["date"]) for p in sorted(tmp_path.glob("members/*/stock.csv"))
    ]
    parts = [family("stock").member_statistics(m) for m in members]
    sums = {"features": sum(p["features"] for p in parts)}
    # Execute
    stats = family("stock").statistics_from_sums(sums)
    # Assert
    pooled = pd.concat(members, ignore_index=True)
    assert len(members) == 3
    _assert_same_stats(stats, ScalingStats.from_columns(stock_numeric(pooled)))


def test_statistics_shapes_refuse_an_unknown_model() -> None:
    with pytest.raises(ConfigError) as exc:
        family("weather")
    assert exc.value.name == "model"
