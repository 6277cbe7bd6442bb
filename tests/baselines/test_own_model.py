"""A member's own model: chosen on its validation period, never worse there than its local ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from consortium.baselines.own_model import (
    LOCAL_ONLY,
    choose_own_model,
    own_model_candidates,
    own_model_dir,
    write_own_model,
)
from consortium.data.targets import time_split
from consortium.models.eta_boosted import BoostedEta
from consortium.models.families import family
from consortium.models.family import FitRequest, ModelSettings
from consortium.models.store import load_stored_model, read_card
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
    assert set(mae.index) >= {"lightgbm", "pooled", "fine_tuned", "stacked"}
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
