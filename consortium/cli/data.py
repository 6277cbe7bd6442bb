"""`consortium` commands for the data domain: ``validate`` and ``declare``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.errors import reported_errors
from consortium.errors import ContractViolation

if TYPE_CHECKING:
    from consortium.data import ValidationReport

_CONTRACT = typer.Option("--contract", "-c", help="Contract name (legs, stock).")


def _summary(report: ValidationReport) -> list[str]:
    """Return the report's header lines (everything but the problems)."""
    lines = [
        (
            f"{report.source.name}: {report.n_rows} rows checked against "
            f"{report.contract} v{report.version}"
        )
    ]
    if report.dropped_columns:
        lines.append(
            "columns not in the contract (dropped at load, data minimisation): "
            + ", ".join(report.dropped_columns)
        )
    if report.personal_columns:
        lines.append(
            "personal fields present (removed at load, never leave this machine): "
            + ", ".join(report.personal_columns)
        )
    if report.valid:
        lines.append("valid: the file meets its contract")
    else:
        lines.append(f"invalid: {report.total} problem{'s' if report.total != 1 else ''}")
    return lines


def validate(
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file to check.")],
    contract: Annotated[str, _CONTRACT],
    prediction: Annotated[
        bool,
        typer.Option("--prediction", help="Prediction input: label fields may be empty."),
    ] = False,
) -> None:
    """Check FILE against a data contract; exit 0 if valid, 1 on contract errors, 2 on misuse."""
    from consortium.config import load_settings
    from consortium.data import validate_file

    with reported_errors():
        report = validate_file(
            file, contract=contract, labelled=not prediction, settings=load_settings()
        )
        for line in _summary(report):
            typer.echo(line)
        if not report.valid:
            raise ContractViolation(report.problems, total=report.total)


def declare(
    file: Annotated[
        Path, typer.Argument(help="Data file to declare (its folder gets sources.json).")
    ],
    contract: Annotated[str, _CONTRACT],
    purpose: Annotated[
        list[str], typer.Option("--purpose", "-p", help="A purpose this file may serve (repeat).")
    ],
    member_id: Annotated[str, typer.Option("--member-id", help="Your member id.")],
) -> None:
    """Declare the purposes FILE may serve, in sources.json next to it (purpose limitation)."""
    from consortium.config import load_settings
    from consortium.data import write_declaration
    from consortium.data.readers import require_file

    with reported_errors():
        require_file(file)  # a declaration of a file that is not there is a typo
        manifest = write_declaration(
            file.parent,
            member_id=member_id,
            path=file.name,
            contract=contract,
            purposes=purpose,
            settings=load_settings(),
        )
        typer.echo(f"{manifest}: {file.name} ({contract}) may serve {', '.join(purpose)}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("validate")(validate)
    app.command("declare")(declare)
