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
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--scale", "0.05"])
    # Assert
    assert result.exit_code == 0, result.output
    assert "dropped outside the contract: internal_note" in result.output
    export = read_export(out / "ledger-export.json")
    assert len(export.entries) == 8  # coordinator + 7 member keys
    for model in ("meridian-line-eta", "duisburg-dc-stock"):
        card = json.loads((out / "models" / model / "model_card.json").read_text())
        assert card["privacy"]["epsilon_spent"] <= card["privacy"]["epsilon_budget"]
    verify = CliRunner().invoke(app, ["ledger", "verify", "--export", str(out / "ledger-export.json")])
    assert verify.exit_code == 0, verify.output
