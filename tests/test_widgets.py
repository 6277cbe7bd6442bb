from pathlib import Path

from consortium.config import REPO_ROOT
from consortium.widgets import ValidationPanel

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"


def test_panel_lists_each_problem_with_its_location() -> None:
    # Prepare
    panel = ValidationPanel(EXAMPLES / "stock.invalid.constraints.csv", contract="stock")
    # Execute
    report = panel.validate()
    # Assert
    assert report is not None and not report.valid
    assert "row 1, column &#x27;on_hand_units&#x27;" in panel.result.value


def test_panel_shows_an_error_for_a_missing_file(tmp_path: Path) -> None:
    panel = ValidationPanel(tmp_path / "absent.csv", contract="legs")
    assert panel.validate() is None
    assert "absent.csv" in panel.result.value


def test_button_click_runs_the_check() -> None:
    panel = ValidationPanel(EXAMPLES / "legs.valid.csv", contract="legs")
    panel.button.click()
    assert "meets" in panel.result.value
