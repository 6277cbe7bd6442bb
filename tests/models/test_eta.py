"""The ETA model on structured legs: point accuracy, measured coverage, persistence."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from consortium.data.targets import delay_minutes, time_split
from consortium.errors import ConfigError, ModelError
from consortium.evaluation.predictor import EtaPredictor
from consortium.models.eta import EtaModel, EtaSpec, fit_eta
from consortium.models.eta_features import from_delay_space
from consortium.models.store import load_model, save_model
from consortium.models.training import TrainConfig
from consortium.privacy.budget import PrivacyBudget
from consortium.privacy.engine import DPEngine
from consortium.privacy.ledger import PrivacyLedger

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def split(legs: pd.DataFrame):
    return time_split(
        legs, time_column="scheduled_departure", valid_fraction=0.2, test_fraction=0.25
    )


@pytest.fixture(scope="module")
def trained(split) -> EtaModel:
    torch.manual_seed(0)
    model, _ = fit_eta(
        split.train,
        valid=split.valid,
        spec=EtaSpec(),
        config=TrainConfig(epochs=6, batch_size=256, seed=0),
        device=CPU,
    )
    return model


def test_model_implements_the_eta_predictor_protocol(trained: EtaModel, split) -> None:
    # Execute
    forecast = trained.predict_eta(split.test)
    # Assert
    assert isinstance(trained, EtaPredictor)
    assert list(forecast.columns) == ["delay_minutes", "delay_lower", "delay_upper", "p_on_time"]
    assert forecast.index.equals(split.test.index)
    assert (forecast["delay_lower"] <= forecast["delay_minutes"]).all()
    assert (forecast["delay_minutes"] <= forecast["delay_upper"]).all()
    assert forecast["p_on_time"].between(0, 1).all()


def test_model_beats_the_naive_schedule_on_later_rows(trained: EtaModel, split) -> None:
    # Prepare
    truth = delay_minutes(split.test)
    # Execute
    mae = (trained.predict_eta(split.test)["delay_minutes"] - truth).abs().mean()
    # Assert: naive = "arrives on schedule" (delay 0)
    assert mae < 0.6 * truth.abs().mean()


def test_dp_model_at_epsilon_8_beats_the_naive_schedule(split, tmp_path: Path) -> None:
    # Prepare
    engine = DPEngine(
        ledger=PrivacyLedger.load(tmp_path, "eta"), budget=PrivacyBudget(8.0, 1e-5), seed=0
    )
    torch.manual_seed(0)
    # Execute
    model, result = fit_eta(
        split.train,
        valid=split.valid,
        spec=EtaSpec(),
        config=TrainConfig(epochs=6, batch_size=256, seed=0),
        device=CPU,
        privatizer=engine,
    )
    # Assert
    truth = delay_minutes(split.test)
    mae = (model.predict_eta(split.test)["delay_minutes"] - truth).abs().mean()
    assert mae < 0.85 * truth.abs().mean()
    assert result.epsilon is not None
    assert 0 < result.epsilon <= 8.0


@pytest.fixture(scope="module")
def eighty(legs: pd.DataFrame):
    """Heads trained for an 80 % interval, and the later rows (after the training period)."""
    split = time_split(
        legs, time_column="scheduled_departure", valid_fraction=0.3, test_fraction=0.3
    )
    torch.manual_seed(1)
    model, _ = fit_eta(
        split.train,
        valid=split.valid,
        spec=EtaSpec(interval_level=0.8),
        config=TrainConfig(epochs=4, batch_size=256, seed=1),
        device=CPU,
    )
    return model, pd.concat([split.valid, split.test])


@pytest.mark.parametrize("nominal", [0.5, 0.65])
def test_calibration_moves_held_out_coverage_to_nominal(eighty, nominal: float) -> None:
    # Prepare: the heads asked for another level; the later rows halved at random, so the
    # calibration and the held-out rows are exchangeable (CQR's guarantee assumes it; a season
    # the calibration rows lack would move coverage by up to 0.1 whatever the calibration does)
    model, later = eighty
    model.spec = replace(model.spec, interval_level=nominal)
    pick = np.random.default_rng(0).permutation(len(later)) < len(later) // 2
    calibration, held = later[pick], later[~pick]
    truth = delay_minutes(held).to_numpy()
    raw = model.raw(held)
    scale = model.spec.delay_scale_minutes
    lo = from_delay_space(raw["lower"], scale_minutes=scale)
    hi = from_delay_space(raw["upper"], scale_minutes=scale)
    raw_coverage = float(np.mean((truth >= lo) & (truth <= hi)))
    # Execute: CQR fitted on the calibration rows only
    model.calibrate(calibration)
    forecast = model.predict_eta(held)
    coverage = float(
        np.mean((truth >= forecast["delay_lower"]) & (truth <= forecast["delay_upper"]))
    )
    # Assert: measured on held-out rows the calibration never saw
    assert abs(raw_coverage - nominal) > 0.1
    assert abs(coverage - nominal) <= 0.05


def test_saved_model_predicts_the_same_after_loading(trained: EtaModel, split) -> None:
    # Prepare
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model"
        save_model(trained, out, card={"kind": "eta"})
        # Execute
        loaded = load_model(out)
        # Assert
        pd.testing.assert_frame_equal(
            loaded.predict_eta(split.test), trained.predict_eta(split.test)
        )


def test_loading_a_model_with_a_broken_encoder_names_the_file(
    trained: EtaModel, tmp_path: Path
) -> None:
    # Prepare
    save_model(trained, tmp_path, card={"kind": "eta"})
    encoder = json.loads((tmp_path / "encoder.json").read_text())
    del encoder["stats"]
    (tmp_path / "encoder.json").write_text(json.dumps(encoder))
    # Execute
    with pytest.raises(ModelError) as caught:
        load_model(tmp_path)
    # Assert
    assert caught.value.path.endswith("encoder.json")
    assert "stats" in caught.value.reason


def test_spec_rejects_an_interval_level_outside_zero_one() -> None:
    with pytest.raises(ConfigError) as caught:
        EtaSpec(interval_level=1.0)
    assert caught.value.name == "interval_level"
