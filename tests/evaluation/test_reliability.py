from __future__ import annotations

import math

import pytest

from consortium.errors import ConfigError
from consortium.evaluation import plot_reliability, reliability_curve


def test_reliability_curve_bins_probabilities_and_counts_outcomes():
    # Prepare: bin 0 gets 0.1 and 0.3, bin 1 stays empty, p = 1.0 falls in the last bin
    y_true = [False, True, True, True]
    p = [0.1, 0.3, 0.9, 1.0]

    # Execute
    curve = reliability_curve(y_true, p, bins=3)

    # Assert
    assert curve["bin"].tolist() == [0, 1, 2]
    assert curve["count"].tolist() == [2, 0, 2]
    assert curve["mean_predicted"].iloc[0] == pytest.approx(0.2)
    assert curve["observed_rate"].iloc[0] == 0.5
    assert math.isnan(curve["observed_rate"].iloc[1])
    assert curve["mean_predicted"].iloc[2] == pytest.approx(0.95)
    assert curve["observed_rate"].iloc[2] == 1.0


def test_reliability_curve_rejects_non_positive_bins():
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        reliability_curve([True], [0.5], bins=0)
    assert error.value.name == "bins"


def test_plot_reliability_writes_a_png_into_a_new_folder(tmp_path):
    # Prepare
    curves = {
        "model": reliability_curve([False, True, True, False], [0.1, 0.8, 0.7, 0.4], bins=5),
        "baseline": reliability_curve([False, True, True, False], [0.5, 0.5, 0.5, 0.5], bins=5),
    }
    target = tmp_path / "figures" / "reliability.png"

    # Execute
    written = plot_reliability(curves, target)

    # Assert
    assert written == target
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000


def test_plot_reliability_rejects_no_curves(tmp_path):
    # Execute / Assert
    with pytest.raises(ConfigError) as error:
        plot_reliability({}, tmp_path / "r.png")
    assert error.value.name == "curves"
    assert not (tmp_path / "r.png").exists()
