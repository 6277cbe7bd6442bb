"""`consortium train / predict / evaluate` on a tiny synthetic member, through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.synth import generate_consortium

runner = CliRunner()


@pytest.fixture(scope="module")
def consortium_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("consortium")
    generate_consortium(out, seed=7, scale=0.02)
    return out


def test_train_predict_evaluate_eta_end_to_end(consortium_dir: Path, tmp_path: Path) -> None:
    # Prepare
    legs = consortium_dir / "members" / "rhine-road" / "legs.csv"
    model_dir, home, out_csv = tmp_path / "eta-model", tmp_path / "home", tmp_path / "eta.csv"
    # Execute
    trained = runner.invoke(
        app,
        [
            "train",
            "--model",
            "eta",
            "--data",
            str(legs),
            "--epsilon",
            "8",
            "--out",
            str(model_dir),
            "--epochs",
            "2",
            "--home",
            str(home),
        ],
    )
    predicted = runner.invoke(app, ["predict", str(model_dir), str(legs), "--out", str(out_csv)])
    evaluated = runner.invoke(app, ["evaluate", str(model_dir), str(legs)])
    # Assert
    assert trained.exit_code == 0, trained.output
    assert "ε spent" in trained.output
    card = json.loads((model_dir / "model_card.json").read_text())
    assert 0 < card["privacy"]["epsilon_spent"] <= 8.0
    assert card["privacy"]["accountant"] == "rdp"
    assert card["interval_level"] == 0.8
    assert 0 <= card["measured_coverage"] <= 1
    assert card["device"] in {"cpu", "cuda"}
    assert (home / "privacy" / "eta-accountant.json").exists()
    assert predicted.exit_code == 0, predicted.output
    forecasts = pd.read_csv(out_csv)
    assert list(forecasts.columns) == ["leg_id", "eta", "eta_lower", "eta_upper", "p_on_time"]
    assert len(forecasts) == len(pd.read_csv(legs))
    eta = pd.to_datetime(forecasts["eta"], format="ISO8601")
    assert eta.dt.tz is not None
    assert (pd.to_datetime(forecasts["eta_lower"], format="ISO8601") <= eta).all()
    assert evaluated.exit_code == 0, evaluated.output
    for name in ("dp-eta", "schedule", "lightgbm", "hours out"):
        assert name in evaluated.output


def test_second_training_is_refused_when_the_budget_is_spent(
    consortium_dir: Path, tmp_path: Path
) -> None:
    # Prepare
    legs = consortium_dir / "members" / "rhine-road" / "legs.csv"
    args = [
        "train",
        "--model",
        "eta",
        "--data",
        str(legs),
        "--epsilon",
        "1",
        "--epochs",
        "1",
        "--home",
        str(tmp_path / "home"),
    ]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "m1")])
    # Execute
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "m2")])
    # Assert
    assert first.exit_code == 0, first.output
    assert second.exit_code == 1
    assert "privacy budget exhausted" in second.output
    assert not (tmp_path / "m2").exists()


def test_train_and_predict_stock(consortium_dir: Path, tmp_path: Path) -> None:
    # Prepare
    stock = consortium_dir / "members" / "duisburg-dc" / "stock.csv"
    model_dir = tmp_path / "stock-model"
    # Execute
    trained = runner.invoke(
        app,
        [
            "train",
            "--model",
            "stock",
            "--data",
            str(stock),
            "--epsilon",
            "inf",
            "--out",
            str(model_dir),
            "--epochs",
            "2",
            "--home",
            str(tmp_path / "home"),
        ],
    )
    predicted = runner.invoke(
        app, ["predict", str(model_dir), str(stock), "--out", str(tmp_path / "s.csv")]
    )
    # Assert
    assert trained.exit_code == 0, trained.output
    assert "WITHOUT differential privacy" in trained.output
    assert predicted.exit_code == 0, predicted.output
    forecasts = pd.read_csv(tmp_path / "s.csv")
    assert list(forecasts.columns) == ["warehouse_id", "date", "p_stockout", "p_overflow"]
    assert forecasts[["p_stockout", "p_overflow"]].stack().between(0, 1).all()


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        (["--epsilon", "0"], "epsilon"),
        (["--epsilon", "-2"], "epsilon"),
        (["--epsilon", "1", "--delta", "0.5"], "delta"),
    ],
)
def test_bad_privacy_configuration_is_a_config_error(
    consortium_dir: Path, tmp_path: Path, extra: list[str], name: str
) -> None:
    legs = consortium_dir / "members" / "rhine-road" / "legs.csv"
    result = runner.invoke(
        app,
        [
            "train",
            "--model",
            "eta",
            "--data",
            str(legs),
            *extra,
            "--out",
            str(tmp_path / "m"),
            "--home",
            str(tmp_path / "h"),
        ],
    )
    assert result.exit_code == 2
    assert f"invalid {name}" in result.output
