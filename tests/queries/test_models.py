import json
import shutil
from pathlib import Path

import pytest

from consortium.errors import ModelError
from consortium.queries.models import (
    card_epsilon_frame,
    find_model_dirs,
    member_metrics_frame,
    model_cards,
    pooled_model_dir,
)
from tests.queries.world import MEMBERS, Models


def test_cards_under_the_models_folder(models: Models) -> None:
    cards = {card.kind: card for card in model_cards(models.root)}
    assert set(cards) == {"eta", "stock"}
    eta = cards["eta"]
    assert eta.path == models.eta_dir
    assert eta.federated
    assert eta.lane_catalog
    assert (eta.members, eta.rounds) == (4, 2)
    assert eta.secure_aggregation == "SecAgg+ (Flower)"
    assert set(eta.epsilon_spent) == set(MEMBERS)
    assert "mae" in eta.metrics
    assert not cards["stock"].lane_catalog


def test_pooled_model_dir_picks_the_federated_model_of_each_kind(
    models: Models, tmp_path: Path
) -> None:
    assert pooled_model_dir(models.root, kind="eta") == models.eta_dir
    assert pooled_model_dir(models.root, kind="stock") == models.stock_dir
    # A federated ETA model without its lane catalog cannot answer lane queries.
    copy = tmp_path / "fed" / "model"
    shutil.copytree(models.eta_dir, copy, ignore=shutil.ignore_patterns("lane_catalog.npz"))
    assert pooled_model_dir(tmp_path, kind="eta") is None
    assert pooled_model_dir(tmp_path / "absent", kind="eta") is None


def test_member_metrics_exclude_counts(models: Models) -> None:
    metrics = member_metrics_frame(models.eta_dir)
    card = json.loads((models.eta_dir / "model_card.json").read_text())
    assert set(metrics["member"]) == set(MEMBERS)
    assert "test_rows" not in set(metrics["metric"])
    assert "mae" in set(metrics["metric"])
    mae = metrics[metrics["metric"] == "mae"].set_index("member")["value"].to_dict()
    assert mae == {m: card["metrics_per_member"][m]["mae"] for m in MEMBERS}
    assert member_metrics_frame(models.stock_dir).empty


def test_card_epsilon_follows_the_round_reports(models: Models) -> None:
    frame = card_epsilon_frame(models.eta_dir)
    expected = {(r.server_round, m): e for r in models.reports for m, e in r.epsilon_spent.items()}
    got = {(r, m): e for r, m, e in frame[["round", "member", "epsilon_spent"]].values.tolist()}
    assert got == expected


def test_unreadable_cards_are_skipped_and_checkpoints_ignored(
    models: Models, tmp_path: Path
) -> None:
    # Prepare
    shutil.copytree(models.eta_dir, tmp_path / "good")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model_card.json").write_text("{not json")
    (tmp_path / "run" / "checkpoints" / "r1").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "r1" / "model_card.json").write_text("{}")
    # Execute
    found = find_model_dirs(tmp_path)
    cards = model_cards(tmp_path)
    # Assert
    assert found == [tmp_path / "bad", tmp_path / "good"]
    assert [c.path for c in cards] == [tmp_path / "good"]
    with pytest.raises(ModelError):
        member_metrics_frame(tmp_path / "bad")
