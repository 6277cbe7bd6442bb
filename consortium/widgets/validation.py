"""Check a member's file against a data contract and see every problem with its location.

Nothing leaves the member's machine: the check runs here (:func:`consortium.data.validate_file`).
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from consortium.data import ValidationReport, validate_file
from consortium.errors import ConsortiumError
from consortium.schemas import available_contracts, load_contract
from consortium.widgets.formatting import GREEN, RED, error_html


def report_html(report: ValidationReport) -> str:
    """Render a validation report as a short HTML summary."""
    status = "meets" if report.valid else "breaks"
    colour = GREEN if report.valid else RED
    parts = [
        (
            f"<p style='color:{colour}'><b>{html.escape(report.source.name)}</b> {status} "
            f"contract <code>{report.contract}.v{report.version}</code> "
            f"({report.n_rows:,} rows checked).</p>"
        )
    ]
    if report.dropped_columns:
        cols = ", ".join(html.escape(c) for c in report.dropped_columns)
        parts.append(f"<p>Not in the contract, dropped at load (data minimisation): {cols}</p>")
    if report.personal_columns:
        cols = ", ".join(html.escape(c) for c in report.personal_columns)
        parts.append(f"<p>Personal fields, never sent to a model or the ledger: {cols}</p>")
    if report.problems:
        rows = "".join(f"<li>{html.escape(str(p))}</li>" for p in report.problems)
        hidden = report.total - len(report.problems)
        more = f"<p>... and {hidden} more problems</p>" if hidden > 0 else ""
        parts.append(
            f"<ol>{rows}</ol>{more}<p>Rows count the data: row 1 is the first row under the "
            "header (line 2 of the file). Fix the file and check it again.</p>"
        )
    return "".join(parts)


def contract_fields(contract: str) -> pd.DataFrame:
    """Return what each column of a contract holds: type, unit and meaning, required, personal.

    Examples
    --------
    >>> fields = contract_fields("legs")
    >>> fields.loc["distance_km", "meaning (unit)"]
    'Planned distance in kilometres.'
    >>> bool(fields.loc["driver_name", "personal (removed at load)"])
    True
    """
    found = load_contract(contract)
    rows = [
        {"column": field.name, "type": field.type, "meaning (unit)": field.description or "",
         "required": field.name in found.required,
         "personal (removed at load)": field.name in found.personal_fields}
        for field in found.schema.fields
    ]  # fmt: skip
    return pd.DataFrame(rows).set_index("column")


class ValidationPanel:
    """Pick a file and a contract, check the file, and see every problem with its location.

    Examples
    --------
    >>> from consortium.config import REPO_ROOT
    >>> panel = ValidationPanel(REPO_ROOT / "data_schemas/examples/legs.valid.csv", contract="legs")
    >>> panel.validate().valid
    True
    """

    def __init__(self, path: Path | str = "", *, contract: str = "legs") -> None:
        self.path = widgets.Text(value=str(path), description="File", layout={"width": "60%"})
        self.contract = widgets.Dropdown(
            options=sorted(available_contracts()), value=contract, description="Contract"
        )
        self.button = widgets.Button(description="Validate", button_style="primary")
        self.result = widgets.HTML()
        self.button.on_click(lambda _: self.validate())
        self.widget = widgets.VBox(
            [widgets.HBox([self.path, self.contract, self.button]), self.result]
        )

    def validate(self) -> ValidationReport | None:
        """Check the chosen file; show the report (or the error) and return it."""
        try:
            report = validate_file(self.path.value, contract=self.contract.value)
        except ConsortiumError as exc:
            self.result.value = error_html(exc)
            return None
        self.result.value = report_html(report)
        return report
