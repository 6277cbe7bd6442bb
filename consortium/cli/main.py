"""Root of the ``consortium`` typer app; each domain adds its commands from its own module."""

from __future__ import annotations

import logging
import warnings
from typing import Annotated

import typer

from consortium import __version__
from consortium.cli import coordinator as coordinator_cli
from consortium.cli import data as data_cli
from consortium.cli import database as database_cli
from consortium.cli import demo as demo_cli
from consortium.cli import federate as federate_cli
from consortium.cli import federation as federation_cli
from consortium.cli import governance as governance_cli
from consortium.cli import ledger as ledger_cli
from consortium.cli import models as models_cli
from consortium.cli import onboarding as onboarding_cli
from consortium.cli import points as points_cli
from consortium.cli import query as query_cli
from consortium.cli import synth as synth_cli
from consortium.cli import value as value_cli
from consortium.cli.layout import reflow_help

app = typer.Typer(
    name="consortium",
    help=(
        "Logistics Consortium Kit: validate your data against the consortium's contracts, "
        "generate a synthetic consortium, train and evaluate forecasts privately, and verify "
        "the ledger. Run `consortium COMMAND --help` for each command."
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

for _domain in (
    data_cli,
    synth_cli,
    models_cli,
    federate_cli,
    value_cli,
    federation_cli,
    points_cli,
    governance_cli,
    onboarding_cli,
    query_cli,
    ledger_cli,
    database_cli,
    coordinator_cli,
    demo_cli,
):
    _domain.register(app)
reflow_help(app)  # docstrings as whole paragraphs: the terminal wraps them, not the source


def _version(value: bool) -> None:
    if value:
        typer.echo(f"consortium {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Logistics Consortium Kit command line."""
    # Opacus's ghost clipping runs a backward pass on a loss whose inputs need no gradient, and
    # torch warns about it on every step; the warning is benign and would bury the progress bar.
    # Only this one message is silenced, and only at the command line (Opacus's own warnings,
    # such as the secure-RNG one, still show).
    warnings.filterwarnings(
        "ignore", message="Full backward hook is firing", category=UserWarning
    )
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
