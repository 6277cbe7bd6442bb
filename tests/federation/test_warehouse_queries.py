"""Warehouse queries answered by the warehouse's own node over Flower messages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from consortium.federation.local_grid import LocalRun, coordinator_identity
from consortium.federation.runner import federate
from consortium.federation.warehouse_grid import GridWarehouseAnswerer
from consortium.synth import generate_consortium


@pytest.fixture(scope="module")
def stock_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalRun, Path]:
    root = tmp_path_factory.mktemp("wq")
    summary = generate_consortium(root / "consortium", seed=7, scale=0.05)
    out = root / "fed"
    run = federate(
        summary.out_dir / "members", model="stock", rounds=1, local_epochs=1, epsilon=4.0, out=out,
        seed=1,
    )
    return run, out / "model"


def test_each_warehouse_is_answered_by_its_own_node(stock_run: tuple[LocalRun, Path]) -> None:
    # Prepare
    run, model_dir = stock_run
    with coordinator_identity(run.grid.run.run_id):
        answerer = GridWarehouseAnswerer(run.grid)
        # Execute
        answer = answerer.answer(
            "WH-DEDUI-01", horizon_days=7, model_dir=model_dir, min_group_size=1
        )
    # Assert
    assert set(answerer.directory) == {"WH-DEDUI-01", "WH-NLRTM-01", "WH-PLWAW-01"}
    assert run.grid.member_of(answerer.directory["WH-DEDUI-01"]) == "duisburg-dc"
    assert answer is not None
    assert answer.warehouse_id == "WH-DEDUI-01"
    assert 0.0 <= answer.p_stockout_mean <= answer.p_stockout_any <= 1.0
    assert len(answer.model_version) == 64


def test_node_declines_below_the_minimum_group_or_for_a_stale_model(
    stock_run: tuple[LocalRun, Path], tmp_path: Path
) -> None:
    # Prepare
    run, model_dir = stock_run
    other = tmp_path / "other-model"
    shutil.copytree(model_dir, other)
    (other / "weights.pt").write_bytes((other / "weights.pt").read_bytes() + b"\0")
    with coordinator_identity(run.grid.run.run_id):
        answerer = GridWarehouseAnswerer(run.grid)
        # Execute
        too_few = answerer.answer(
            "WH-DEDUI-01", horizon_days=7, model_dir=model_dir, min_group_size=10_000
        )
        stale = answerer.answer("WH-DEDUI-01", horizon_days=7, model_dir=other, min_group_size=1)
    # Assert
    assert too_few is None
    assert stale is None
