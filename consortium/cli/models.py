"""`consortium` commands for the models domain: train, predict, evaluate."""

from __future__ import annotations

import logging
import math
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.database import DbOption
from consortium.cli.errors import reported_errors
from consortium.errors import ModelError

if TYPE_CHECKING:  # pandas, rich and the kit's data modules load when a command runs
    import pandas as pd
    from rich.table import Table

    from consortium.config import Settings
    from consortium.models.progress import ProgressEvent

logger = logging.getLogger(__name__)


class ModelKindOption(StrEnum):
    """The models ``consortium train`` can build."""

    eta = "eta"
    stock = "stock"


def _settings(home: Path | None) -> Settings:
    from consortium.config import load_settings

    return load_settings(home=home) if home is not None else load_settings()


def _load(paths: list[Path], *, kind: str, purpose: str, labelled: bool) -> pd.DataFrame:
    import pandas as pd

    from consortium.data import load_table
    from consortium.models.families import family

    contract = family(kind).contract
    frames = [
        load_table(p, contract=contract, purpose=purpose, labelled=labelled).frame for p in paths
    ]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _board_max_delta(db: str | None) -> float:
    """Return the board's largest δ: from the policy in force in ``db``, else the default."""
    from consortium.policy.model import ConsortiumPolicy

    if db is None:
        return ConsortiumPolicy().max_delta
    from consortium.cli.database import open_database
    from consortium.policy.store import current_policy

    with open_database(db, read_only=True).begin() as session:
        return current_policy(session).max_delta


def train(
    model: Annotated[ModelKindOption, typer.Option("--model", help="Which model: eta or stock.")],
    data: Annotated[
        list[Path], typer.Option("--data", help="Member data file(s); several are pooled.")
    ],
    epsilon: Annotated[
        float, typer.Option("--epsilon", help="Total ε budget of this model; 'inf' = no DP.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    delta: Annotated[
        float | None, typer.Option("--delta", help="δ (default: ledger's, else min(1e-5, 1/10n)).")
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Training epochs.")] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Member state dir (privacy accountant).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    db: DbOption = None,
) -> None:
    """Train a model on one member's files under its persistent privacy budget.

    δ may not exceed the board's ``max_delta``: the policy in force in ``--db`` when given,
    else the policy's default.
    """
    from consortium.data.readers import require_file

    with reported_errors():  # a typo in a path, before torch and Opacus load
        for path in data:
            require_file(path)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from consortium.models.families import family
    from consortium.models.store import save_model
    from consortium.privacy.training import train_local

    console = Console(stderr=True)
    with reported_errors():
        settings = _settings(home)
        kind = model.value
        max_delta = _board_max_delta(db)
        if math.isinf(epsilon):
            console.print("[yellow]ε = inf: training WITHOUT differential privacy[/yellow]")
        frame = _load(data, kind=kind, purpose=family(kind).training_purpose, labelled=True)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task("training", total=1.0, info="")

            def show(event: ProgressEvent) -> None:
                eps = "no DP" if event.epsilon is None else f"ε {event.epsilon:.3f}"
                info = (
                    f"epoch {event.epoch}/{event.epochs} step {event.step}/"
                    f"{event.steps_per_epoch} loss {event.loss:.4f} {eps}"
                )
                progress.update(task, completed=event.fraction, info=info)

            trained = train_local(
                frame,
                kind=kind,  # type: ignore[arg-type]
                epsilon=epsilon,
                delta=delta,
                max_delta=max_delta,
                home=settings.home,
                interval_level=settings.interval_level,
                tolerance_minutes=settings.on_time_tolerance_minutes,
                horizon_days=settings.stock_horizon_days,
                epochs=epochs,
                seed=seed,
                member=data[0].parent.name or None,
                on_progress=show,
            )
        card_path = save_model(trained.model, out, card=trained.card)
        privacy = trained.card["privacy"]
        typer.echo(f"model written to {out} (card: {card_path})")
        typer.echo(
            f"ε spent {privacy['epsilon_spent']:.3f} of {privacy['epsilon_budget']} "
            f"(δ={privacy['delta']:.3g}, accountant {privacy['accountant']}, "
            f"this run {privacy['epsilon_spent_this_run']:.3f}) on {trained.card['device']}"
        )
        for name, value in trained.card["metrics_test"].items():
            typer.echo(
                f"  test {name}: {value:.4g}"
                if isinstance(value, float)
                else f"  test {name}: {value}"
            )


def predict(
    model_dir: Annotated[
        Path, typer.Argument(help="A model directory (`consortium train`, a member's own model).")
    ],
    file: Annotated[Path, typer.Argument(help="Legs or stock rows to forecast.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
) -> None:
    """Forecast each row of FILE with a trained model (purpose query-answering)."""
    from consortium.models.families import family_of
    from consortium.models.store import load_stored_model

    with reported_errors():
        fitted = load_stored_model(model_dir)
        kind = family_of(fitted)
        frame = _load([file], kind=kind.kind, purpose="query-answering", labelled=False)
        result = kind.forecast_table(fitted, frame)
        out.parent.mkdir(parents=True, exist_ok=True)
        result.to_csv(out, index=False)
        typer.echo(f"{len(result)} forecasts written to {out}")


def evaluate(
    model_dir: Annotated[
        Path, typer.Argument(help="A model directory (`consortium train`, a member's own model).")
    ],
    file: Annotated[Path, typer.Argument(help="Labelled legs or stock rows.")],
    home: Annotated[Path | None, typer.Option("--home", help="Member state dir.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the LightGBM baseline.")] = 0,
) -> None:
    """Score a model against the local baselines on the later part of FILE."""
    from rich.console import Console

    from consortium.baselines.assessment import assess
    from consortium.models.family import ModelSettings
    from consortium.models.store import load_stored_model, read_card

    console = Console(width=140)
    with reported_errors():
        settings = _settings(home)
        fitted = load_stored_model(model_dir)
        card = read_card(model_dir)
        frame = _load([file], kind=fitted.kind, purpose="evaluation", labelled=True)
        tolerance = int(card.get("on_time_tolerance_minutes", settings.on_time_tolerance_minutes))
        own = ModelSettings(
            interval_level=float(card.get("interval_level", settings.interval_level)),
            tolerance_minutes=tolerance,
            horizon_days=int(card.get("horizon_days", settings.stock_horizon_days)),
        )
        result, title = assess(
            fitted,
            frame,
            tolerance_minutes=tolerance,
            settings=own,
            seed=seed,
            name=card.get("name") if card.get("name") == "own" else None,
        )
        console.print(_table(result.table, title=title))
        if result.by_hours_out is not None:
            hours = result.by_hours_out
            order = list(dict.fromkeys(hours["bucket"]))
            wide = hours.pivot(index="bucket", columns="model", values="mae").reindex(order)
            console.print(_table(wide, title="MAE (minutes) by hours out"))


def _table(frame: pd.DataFrame, *, title: str) -> Table:
    from rich.table import Table

    if frame.empty:
        raise ModelError("evaluation", "nothing to score")
    table = Table(title=title)
    table.add_column(str(frame.index.name or ""))
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for name, row in frame.iterrows():
        table.add_row(str(name), *(_cell(v) for v in row))
    return table


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("evaluate")(evaluate)
