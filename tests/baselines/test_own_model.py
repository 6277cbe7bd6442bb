"""A member's own model: chosen on its validation period, never worse there than its local ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from consortium.baselines.own_model import (
    LOCAL_ONLY,
    choose_own_model,
    local_only,
    own_model_candidates,
    own_model_dir,
    write_own_model,
)
from consortium.cli.main import app
from consortium.data.targets import delay_minutes, time_split
from consortium.evaluation.value import value_table
from consortium.models.eta_boosted import BoostedEta
from consortium.models.families import family
from consortium.models.family import FitRequest, ModelSettings
from consortium.models.store import load_stored_model, read_card
from consortium.models.timetable import TimetableEta
from consortium.models.training import TrainConfig
from tests.baselines.conftest import make_legs

ETA = family("eta")
SETTINGS = ModelSettings()


def _flipped(legs: pd.DataFrame) -> pd.DataFrame:
    """The same kind of legs, but every delay turned into an equally large early arrival."""
    delay = legs["actual_arrival"] - legs["scheduled_arrival"]
    return legs.assign(actual_arrival=legs["scheduled_arrival"] - delay - pd.Timedelta("2h"))


@pytest.fixture(scope="module")
def disagreeing_pool():
    """A pooled model fitted on rows that disagree with the member's, and the member's split."""
    torch.set_num_threads(1)
    pool = time_split(_flipped(make_legs(800, seed=3)), time_column="scheduled_departure")
    request = FitRequest(
        settings=SETTINGS,
        config=TrainConfig(epochs=3, batch_size=128, learning_rate=1e-2),
        device=torch.device("cpu"),
    )
    pooled, _ = ETA.fit(pool.train, pool.valid, request)
    member = time_split(make_legs(500, seed=4), time_column="scheduled_departure")
    return pooled, member


def test_local_candidate_is_chosen_and_written_when_pooled_ones_validate_worse(
    disagreeing_pool, tmp_path: Path
) -> None:
    # Prepare
    pooled, member = disagreeing_pool
    candidates = own_model_candidates(ETA, pooled=pooled, settings=SETTINGS, seed=0)
    # Execute
    own = choose_own_model(
        ETA, train=member.train, valid=member.valid, candidates=candidates, settings=SETTINGS
    )
    target = write_own_model(own, tmp_path / "state")
    # Assert
    mae = own.validation["mae"]
    assert set(mae.index) >= {"timetable", "lightgbm", "pooled", "fine_tuned", "stacked"}
    assert own.chosen.name == "lightgbm"
    assert own.chosen.local_only
    assert mae["lightgbm"] <= mae.drop("lightgbm").min()
    assert mae["pooled"] > 2 * mae["lightgbm"]  # the pool really disagrees
    assert target == own_model_dir(tmp_path / "state", "eta")
    stored = load_stored_model(target)
    assert isinstance(stored, BoostedEta)
    assert stored.base is None
    card = read_card(target)
    assert card["chosen"] == "lightgbm"
    assert card["best_local_only"] == "lightgbm"
    assert card["privacy"]["uses_member_rows_without_dp"] is True
    assert "never be shared" in card["privacy"]["note"]
    assert card["validation"]["pooled"]["mae"] == pytest.approx(mae["pooled"])


def _margins(card: dict) -> dict[str, float]:
    return {str(k): float(v) for k, v in card["gain_over_best_local_in_standard_errors"].items()}


def test_choice_is_never_worse_on_validation_than_the_best_local_only_candidate(
    disagreeing_pool,
) -> None:
    # Prepare: the member's rows agree with the pool (same generator as the pool, unflipped)
    pooled, _ = disagreeing_pool
    member = time_split(_flipped(make_legs(400, seed=5)), time_column="scheduled_departure")
    candidates = own_model_candidates(ETA, pooled=pooled, settings=SETTINGS, seed=0)
    # Execute
    own = choose_own_model(
        ETA, train=member.train, valid=member.valid, candidates=candidates, settings=SETTINGS
    )
    # Assert
    mae = own.validation["mae"]
    best_local = min(mae[n] for n in LOCAL_ONLY if n in mae.index)
    assert mae[own.chosen.name] <= best_local
    margins = _margins(own.card)
    clear = {n for n, m in margins.items() if m > own.card["required_standard_errors"]}
    if own.chosen.local_only:  # no pooled candidate beat it clearly
        assert not any(mae[n] < best_local for n in clear)
    else:  # it beat the best local one clearly, and is the lowest of those that did
        assert own.chosen.name in clear
        assert mae[own.chosen.name] == min(mae[n] for n in clear)


def test_timetable_is_kept_when_trained_models_validate_worse_and_predict_reads_it(
    disagreeing_pool, tmp_path: Path
) -> None:
    # Prepare: the carrier re-timed its schedule: its past delays no longer hold, it runs on time
    pooled, _ = disagreeing_pool
    member = time_split(make_legs(400, seed=6), time_column="scheduled_departure")
    jitter = np.random.default_rng(6).normal(0.0, 5.0, len(member.valid)).round()
    valid = member.valid.assign(
        actual_arrival=member.valid["scheduled_arrival"] + pd.to_timedelta(jitter, "min")
    )
    candidates = own_model_candidates(ETA, pooled=pooled, settings=SETTINGS, seed=0)
    legs_csv = tmp_path / "legs.csv"
    member.test.assign(actual_arrival=pd.NaT).to_csv(legs_csv, index=False)
    (tmp_path / "sources.json").write_text(json.dumps({
        "schema_version": 1, "member_id": "carrier",
        "sources": [{"path": "legs.csv", "contract": "legs", "purposes": ["query-answering"]}],
    }))  # fmt: skip
    # Execute
    own = choose_own_model(
        ETA, train=member.train, valid=valid, candidates=candidates, settings=SETTINGS
    )
    target = write_own_model(own, tmp_path / "state")
    stored = load_stored_model(target)
    predicted = CliRunner().invoke(
        app, ["predict", str(target), str(legs_csv), "--out", str(tmp_path / "own.csv")]
    )
    # Assert
    assert candidates[0].name == "timetable"
    assert candidates[0].local_only
    mae = own.validation["mae"]
    assert own.chosen.name == "timetable"
    assert mae["timetable"] < mae.drop("timetable").min()  # LightGBM and the pool lose to it
    assert mae["lightgbm"] > 2 * mae["timetable"]
    card = read_card(target)
    assert card["chosen"] == card["best_local_only"] == "timetable"
    assert next(iter(card["candidates"])) == "timetable"
    assert card["privacy"]["uses_member_rows_without_dp"] is True
    assert isinstance(stored, TimetableEta)
    expected = own.model.predict_eta(member.test)
    pd.testing.assert_frame_equal(stored.predict_eta(member.test), expected)
    assert (expected["delay_minutes"] == 0.0).all()
    past = delay_minutes(pd.concat([member.train, valid]))  # refitted on both periods
    assert expected["delay_upper"].iloc[0] == pytest.approx(past.quantile(0.9))
    assert predicted.exit_code == 0, predicted.output
    forecasts = pd.read_csv(tmp_path / "own.csv")
    assert list(forecasts["leg_id"]) == list(member.test["leg_id"])
    eta = pd.to_datetime(forecasts["eta"], utc=True, format="ISO8601")
    assert (eta.to_numpy() == member.test["scheduled_arrival"].dt.round("s").to_numpy()).all()
    assert np.allclose(forecasts["p_on_time"], expected["p_on_time"].round(6))


def test_the_gain_of_joining_counts_the_timetable_only_where_it_is_a_candidate() -> None:
    # Prepare: one member's later-row scores where the baseline row named "timetable" is the
    # best; for stock it is a rate baseline, not a candidate of the stock own model
    scores = {"m": pd.DataFrame({"mae": [10.0, 12.0, 11.0], "n": [50, 50, 50]},
                                index=["timetable", "lightgbm", "own"])}  # fmt: skip
    # Execute
    eta = value_table(scores, metric="mae", local_only=local_only(family("eta")))
    stock = value_table(scores, metric="mae", local_only=local_only(family("stock")))
    # Assert
    assert (eta.loc["m", "best_local_only"], eta.loc["m", "gain_percent"]) == ("timetable", -10.0)
    assert stock.loc["m", "best_local_only"] == "lightgbm"
    assert stock.loc["m", "gain_percent"] == pytest.approx(100 * (12.0 - 11.0) / 12.0)
