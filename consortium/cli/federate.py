"""``consortium federate``: a whole federation on this machine (the one-machine runner)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from consortium.cli.errors import reported_errors
from consortium.cli.layout import wrap_items

if TYPE_CHECKING:
    from consortium.rounds import FederationEvent


class FederatedModel(StrEnum):
    """The models a federation can train."""

    eta = "eta"
    stock = "stock"


def federate(  # noqa: PLR0913
    model: Annotated[FederatedModel, typer.Option("--model", help="Which model to train.")],
    members: Annotated[
        Path,
        typer.Option(
            "--members",
            help="Folder with one subfolder (or file) per member, e.g. `consortium synth`'s "
            "members/ folder.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder; the model goes to OUT/model.")],
    rounds: Annotated[int, typer.Option("--rounds", help="Federated rounds.")] = 3,
    epsilon: Annotated[
        float, typer.Option("--epsilon", help="Each member's total ε for this model.")
    ] = 8.0,
    budgets: Annotated[
        Path | None,
        typer.Option("--budgets", help='JSON {"member-id": epsilon} overriding --epsilon.'),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Keep each member's state (its ε accountant, its own models) in STATE/<member> "
            "instead of with its data (MEMBERS/<member>/.consortium, or "
            "MEMBERS/.consortium/<member> for a single-file member). Never under OUT: a new "
            "output folder does not reset ε.",
        ),
    ] = None,
    local_epochs: Annotated[
        int, typer.Option("--local-epochs", help="Epochs each member trains per round.")
    ] = 2,
    max_epsilon_per_round: Annotated[
        float,
        typer.Option("--max-epsilon-per-round", help="Cap on ε a member spends in one round."),
    ] = math.inf,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure/--plain",
            help="SecAgg+ (default) or plain FedAvg (these one-machine members then allow it).",
        ),
    ] = True,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue after the last checkpoint in OUT.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the initial model.")] = 0,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Coordinator database URL (no password: PGPASSWORD): record each round in the "
            "ledger, mint contribution points, enforce the board's ε cap and refuse removed "
            "members.",
        ),
    ] = None,
    coordinator_key: Annotated[
        Path | None,
        typer.Option(
            "--coordinator-key",
            help="The coordinator's private key (with --db; unencrypted, 0600: the ServerApp "
            "opens it as on the deployment runtime).",
        ),
    ] = None,
    member_keys: Annotated[
        Path | None,
        typer.Option(
            "--member-keys",
            help="Folder of the members' ledger keys (<member>.key): each member signs its "
            "SecAgg+ keys with its own and refuses keys not signed by a listed member.",
        ),
    ] = None,
    value: Annotated[
        bool,
        typer.Option(
            "--value/--no-value",
            help="Afterwards each member makes its own model (kept in its state folder, never "
            "sent) and the gain of joining is shown and written to OUT (`consortium value`).",
        ),
    ] = False,
) -> None:
    """Train a model across every member in MEMBERS: DP on each member, SecAgg+ in between.

    Each member trains on its own rows under Opacus with its own budget; only masked updates
    leave it and the coordinator sees their sum. Progress shows each round's members, loss and
    ε spent per member. The model directory works with `consortium predict` and `evaluate`.
    """
    from consortium.federation.runner import federate as run_federation
    from consortium.federation.runner import read_budgets

    with reported_errors():
        per_member = read_budgets(budgets) if budgets is not None else None
        if (db is None) != (coordinator_key is None):
            from consortium.errors import ConfigError

            raise ConfigError("--db", "--db and --coordinator-key go together")
        with progress_printer(model.value, rounds) as show:
            run_federation(
                members,
                model=model.value,  # type: ignore[arg-type]
                rounds=rounds,
                epsilon=epsilon,
                out=out,
                budgets=per_member,
                state_dir=state,
                local_epochs=local_epochs,
                secure=secure,
                resume=resume,
                max_epsilon_per_round=max_epsilon_per_round,
                seed=seed,
                on_event=show,
                ledger_db=db or "",
                coordinator_key=coordinator_key,
                member_keys=member_keys,
            )
        _summary(out / "model")
        if value:
            from consortium.cli.value import run_value

            run_value(model.value, members=members, out_dir=out, state=state, seed=seed)


@contextmanager
def progress_printer(label: str, rounds: int) -> Iterator[Callable[[FederationEvent], None]]:
    """Show a federated run: a progress bar over its stages and one line per round."""
    console = Console(stderr=True)
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("flwr").setLevel(logging.WARNING)  # Flower's per-stage INFO lines
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task(f"federating {label}", total=rounds + 3, info="")

        def show(event: FederationEvent) -> None:
            if event.stage == "round" and event.report is not None:
                r = event.report
                loss = "-" if r.loss is None else f"{r.loss:.4f}"
                progress.console.print(
                    f"round {r.server_round}/{rounds} \\[{r.status}] "
                    f"{r.members_aggregated}/{r.members_total} members, loss {loss} "
                    f"({r.seconds:.1f} s); ε spent:",
                    highlight=False,
                )
                items = [f"{m} {e:.2f}" for m, e in sorted(r.epsilon_spent.items())] or ["-"]
                items += [f"sat out: {m}" for m in r.sat_out]
                for line in wrap_items(items, width=progress.console.width):  # names whole
                    progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
                for failure in r.failures:
                    progress.console.print(f"  [yellow]{escape(failure)}[/yellow]")
                info = f"round {r.server_round}/{rounds}"
            else:
                info = event.stage
            progress.update(task, advance=1, info=info)

        yield show


def _summary(model_dir: Path) -> None:
    from consortium.models.store import read_card

    card = read_card(model_dir)
    typer.echo(f"federated model written to {model_dir}")
    for member, metrics in sorted(card["metrics_per_member"].items()):
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if k not in ("n", "test_rows"))
        typer.echo(f"  {member}: {shown}")
    typer.echo("  pooled: " + ", ".join(f"{k} {v:.4g}" for k, v in card["metrics_pooled"].items()))


def register(app: typer.Typer) -> None:
    """Add ``federate`` to the root app."""
    app.command("federate")(federate)
