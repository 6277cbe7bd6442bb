"""`consortium value` on a tiny synthetic consortium, through CliRunner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.data import load_table
from consortium.data.targets import time_split
from consortium.models.families import family
from consortium.models.family import FitRequest, ModelSettings
from consortium.models.store import read_card, save_model
from consortium.models.training import TrainConfig
from consortium.synth import generate_consortium

runner = CliRunner()
MEMBERS = ("meridian-line", "silk-corridor-rail")


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two ETA members (as folders) and a pooled model fitted on their rows (a stand-in)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("value")
    generate_consortium(root / "synth", seed=7, scale=0.02)
    members = root / "members"
    for member in MEMBERS:
        shutil.copytree(root / "synth" / "members" / member, members / member)
    eta = family("eta")
    rows = pd.concat(
        load_table(members / m / "legs.csv", contract="legs", purpose="eta-training").frame
        for m in MEMBERS
    )
    split = time_split(rows, time_column="scheduled_departure")
    request = FitRequest(
        settings=ModelSettings(),
        config=TrainConfig(epochs=2, batch_size=64),
        device=torch.device("cpu"),
    )
    pooled, _ = eta.fit(split.train, split.valid, request)
    save_model(pooled, root / "run" / "model", card={"kind": "eta", "interval_level": 0.8})
    return members, root / "run"


def test_value_writes_table_chart_and_own_models_that_predict_accepts(
    federation: tuple[Path, Path], tmp_path: Path
) -> None:
    # Prepare
    members, run = federation
    # Execute
    result = runner.invoke(
        app, ["value", "--model", "eta", "--members", str(members), "--out-dir", str(run)]
    )
    own_dir = members / "silk-corridor-rail" / ".consortium" / "models" / "eta"
    predicted = runner.invoke(
        app,
        [
            "predict",
            str(own_dir),
            str(members / "silk-corridor-rail" / "legs.csv"),
            "--out",
            str(tmp_path / "own.csv"),
        ],
    )
    # Assert
    assert result.exit_code == 0, result.output
    assert "Value of joining" in result.output
    assert "gain_percent" in result.output
    table = pd.read_csv(run / "value.csv", index_col="member")
    assert list(table.index) == list(MEMBERS)
    for member, row in table.iterrows():
        best = row[row["best_local_only"]]
        assert row["gain_percent"] == pytest.approx(100 * (best - row["own"]) / best)
        assert {"timetable", "lightgbm", "pooled", "own"} <= set(table.columns), member
    assert (run / "value.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| member |" in (run / "value.md").read_text()
    card = read_card(own_dir)
    assert card["chosen"] == table.loc["silk-corridor-rail", "chosen"]
    assert "silk-corridor-rail" in card["value_markdown"]
    assert "meridian-line" not in card["value_markdown"]  # a member's card holds its rows only
    assert predicted.exit_code == 0, predicted.output
    forecasts = pd.read_csv(tmp_path / "own.csv")
    assert list(forecasts.columns) == ["leg_id", "eta", "eta_lower", "eta_upper", "p_on_time"]
    assert len(forecasts) == len(pd.read_csv(members / "silk-corridor-rail" / "legs.csv"))


def test_value_without_a_pooled_model_names_the_option(
    federation: tuple[Path, Path], tmp_path: Path
) -> None:
    # Prepare
    members, _ = federation
    # Execute
    result = runner.invoke(
        app, ["value", "--model", "eta", "--members", str(members), "--out-dir", str(tmp_path)]
    )
    # Assert
    assert result.exit_code != 0
    assert "--pooled" in result.output
    assert not (tmp_path / "value.csv").exists()
