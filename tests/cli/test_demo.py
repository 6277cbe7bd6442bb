import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.ledger.export import read_export


@pytest.mark.slow
def test_demo_runs_every_step_and_leaves_verifiable_results(tmp_path: Path) -> None:
    # Prepare
    out = tmp_path / "demo"
    # Execute
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--scale", "0.05", "--rounds", "2"]
    )
    # Assert
    assert result.exit_code == 0, result.output
    assert "dropped outside the contract: internal_note" in result.output
    export = read_export(out / "ledger-export.json")
    kinds = [e.kind for e in export.entries]
    assert kinds.count("member-admitted") == 7
    assert kinds.count("round-completed") + kinds.count("round-failed") == 4  # 2 rounds x 2 models
    assert "points-minted" in kinds
    assert kinds.count("proposal-executed") == 1
    assert kinds.count("query-answered") >= 1  # the lane query (a warehouse may decline)
    for model in ("eta", "stock"):
        card = json.loads((out / "federation" / model / "model" / "model_card.json").read_text())
        assert card["federation"]["secure_aggregation"].startswith("SecAgg+")
        for member, spent in card["privacy"]["epsilon_spent"].items():
            assert spent <= 8.0 + 1e-9, member
    assert "the lane fee in force is now 12 points" in result.output
    verify = CliRunner().invoke(
        app, ["ledger", "verify", "--export", str(out / "ledger-export.json")]
    )
    assert verify.exit_code == 0, verify.output
