"""Results that miss their target get a warning line; results on target get none."""

from __future__ import annotations

import math

import pytest

from consortium.widgets.targets import flagged_lines, target_warnings
from consortium.widgets.verdict import joining_verdict


def test_coverage_far_below_its_target_is_flagged_as_too_narrow() -> None:
    # Execute
    lines = target_warnings({"mae": 41.0, "coverage": 0.13}, member="rhine-road")

    # Assert
    assert len(lines) == 1
    assert lines[0].startswith("⚠ rhine-road: coverage 13 %")
    assert "target 80 %" in lines[0]
    assert "too narrow" in lines[0]


def test_coverage_far_above_its_target_is_flagged_as_too_wide() -> None:
    assert "too wide" in target_warnings({"coverage": 0.99})[0]


@pytest.mark.parametrize("coverage", [0.71, 0.8, 0.89])
def test_coverage_near_its_target_is_not_flagged(coverage: float) -> None:
    assert target_warnings({"coverage": coverage}) == []


def test_coverage_is_judged_against_the_cards_own_level() -> None:
    # A 95 % interval that holds 80 % of true values misses its target
    assert target_warnings({"coverage": 0.8}, target_coverage=0.95)
    assert target_warnings({"coverage": 0.93}, target_coverage=0.95) == []


def test_auc_near_or_below_a_coin_toss_is_flagged_and_a_good_one_is_not() -> None:
    # Execute
    near = target_warnings({"on_time_auc": 0.48})
    below = target_warnings({"stockout_auc": 0.17})
    good = target_warnings({"stockout_auc": 0.81, "overflow_auc": 0.6})

    # Assert
    assert near
    assert "near 0.5" in near[0]
    assert "on-time AUC 0.48" in near[0]
    assert below
    assert "worse than a coin toss" in below[0]
    assert good == []


def test_missing_and_unrelated_metrics_are_ignored() -> None:
    assert target_warnings({"coverage": None, "on_time_auc": math.nan, "mae": 0.0}) == []


def test_flagged_lines_name_each_member_that_misses() -> None:
    # Prepare
    per_member = {"a": {"coverage": 0.8, "on_time_auc": 0.9},
                  "b": {"coverage": 0.5, "on_time_auc": 0.45}}  # fmt: skip

    # Execute
    lines = flagged_lines(per_member)

    # Assert
    assert len(lines) == 2
    assert all(line.startswith("⚠ b: ") for line in lines)


def test_verdict_says_how_much_joining_improved_the_metric_with_units() -> None:
    # Prepare
    row = {"lightgbm": 20.0, "pooled": 25.0, "own": 17.6, "best_local_only": "lightgbm",
           "gain_percent": 12.0, "chosen": "stacked"}  # fmt: skip

    # Execute
    verdict = joining_verdict(row, metric="MAE", unit="min")

    # Assert
    assert verdict.startswith("joining improved your MAE by 12 %")
    assert "17.6 min" in verdict
    assert "20.0 min" in verdict
    assert "(lightgbm)" in verdict


@pytest.mark.parametrize("gain", [0.0, -8.0, math.nan])
def test_verdict_says_the_local_model_stays_best_without_a_gain(gain: float) -> None:
    # Prepare
    row = {"lightgbm": 0.19, "pooled": 0.2, "own": 0.19, "best_local_only": "lightgbm",
           "gain_percent": gain, "chosen": "lightgbm"}  # fmt: skip

    # Execute
    verdict = joining_verdict(row, metric="Brier score", unit="")

    # Assert
    assert verdict.startswith("your own local model stays best: Brier score 0.190 (lightgbm)")
