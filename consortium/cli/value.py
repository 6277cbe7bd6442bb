"""``consortium value``: each member's own model, and what joining gained it on its later rows.

For every member in MEMBERS, on its own machine (here: this one), its own model is chosen on its
validation period and written to its state folder (``<state>/models/<kind>/``); then its
timetable, its local-only models, the pooled model and its own model are scored on its test
period. The table is printed, written as ``value.md`` and ``value.csv`` and drawn as
``value.png`` in OUT; each member's rows also go into its own model's card.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.errors import reported_errors
from consortium.cli.federate import FederatedModel
from consortium.errors import ConfigError

if TYPE_CHECKING:  # imported when the command runs, so `consortium --help` stays fast
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

logger = logging.getLogger(__name__)

LOCAL_DP_HELP = (
    "Folder with each member's local DP model directory as LOCAL_DP/<member> (from `consortium "
    "train --out`); such a model is one more local-only candidate."
)


def value(
    model: Annotated[FederatedModel, typer.Option("--model", help="Which model: eta or stock.")],
    members: Annotated[
        Path, typer.Option("--members", help="Folder with one subfolder (or file) per member.")
    ],
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Where value.md, value.csv and value.png go.")
    ],
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Members' state in STATE/<member> (as for `federate`)."),
    ] = None,
    pooled: Annotated[
        Path | None,
        typer.Option("--pooled", help="The pooled model directory (default: OUT_DIR/model)."),
    ] = None,
    local_dp: Annotated[Path | None, typer.Option("--local-dp", help=LOCAL_DP_HELP)] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the LightGBM runs.")] = 0,
) -> None:
    """Make each member's own model and show each member's gain of joining."""
    with reported_errors():
        run_value(
            model.value,
            members=members,
            out_dir=out_dir,
            state=state,
            pooled=pooled,
            local_dp=local_dp,
            seed=seed,
        )


def run_value(
    kind: str,
    *,
    members: Path,
    out_dir: Path,
    state: Path | None = None,
    pooled: Path | None = None,
    local_dp: Path | None = None,
    seed: int = 0,
    console: Console | None = None,
    details: bool = True,
) -> pd.DataFrame:
    """Run ``consortium value`` (also the end of ``federate --value``); return the value table.

    ``details=False`` prints the summary table only (the details still go to ``value.md``).
    """
    from rich.console import Console

    from consortium.baselines.member_value import MemberValue, member_value
    from consortium.baselines.own_model import local_only, write_own_model
    from consortium.data import load_table
    from consortium.data.member_files import member_data_file
    from consortium.evaluation.value import value_details, value_markdown, value_table
    from consortium.evaluation.value_chart import plot_value
    from consortium.federation.runner import discover_members
    from consortium.models.families import family
    from consortium.models.family import ModelSettings
    from consortium.models.store import load_stored_model, read_card
    from consortium.privacy.state import member_state_dir

    console = console or Console(width=160)
    fam = family(kind)
    pooled_dir = pooled if pooled is not None else out_dir / "model"
    if not (pooled_dir / "model_card.json").is_file():
        raise ConfigError("pooled", f"{pooled_dir} is not a model directory (give --pooled)")
    pooled_model = load_stored_model(pooled_dir)
    card = read_card(pooled_dir)
    settings = ModelSettings.of_card(card)
    results: dict[str, MemberValue] = {}
    states: dict[str, Path] = {}
    for member, path in discover_members(members, fam.kind).items():  # type: ignore[arg-type]
        frame = load_table(
            member_data_file(path, contract=fam.contract),
            contract=fam.contract,
            purpose=fam.training_purpose,
            labelled=True,
        ).frame
        own_dp = local_dp / member if local_dp is not None else None
        try:
            results[member] = member_value(
                frame,
                fam=fam,
                settings=settings,
                pooled=pooled_model,
                member=member,
                local_dp=load_stored_model(own_dp) if own_dp and own_dp.is_dir() else None,
                seed=seed,
            )
        except ConfigError as exc:
            console.print(f"[yellow]{member}: skipped ({exc})[/yellow]")
            continue
        states[member] = member_state_dir(path, member=member, state_dir=state)
    if not results:
        raise ConfigError("members", f"no member in {members} could be scored")
    scores = {m: r.scores for m, r in results.items()}
    chosen = {m: r.own.chosen.name for m, r in results.items()}
    table = value_table(scores, metric=fam.loss_metric, local_only=local_only(fam), chosen=chosen)
    scored = value_details(scores, metrics=fam.value_metrics)
    for member, result in results.items():
        mine = value_markdown(table.loc[[member]]) + "\n\n" + value_markdown(scored.loc[[member]])
        target = write_own_model(result.own, states[member], extra_card={"value_markdown": mine})
        console.print(f"{member}: own model ({result.own.chosen.name}) written to {target}")
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"Value of joining ({fam.kind}): {fam.loss_metric} on each member's later rows"
    (out_dir / "value.md").write_text(
        f"## {title}\n\n{value_markdown(table)}\n\n### Details\n\n{value_markdown(scored)}\n",
        encoding="utf-8",
    )
    table.to_csv(out_dir / "value.csv")
    models = [
        c for c in table.columns if c not in ("n", "best_local_only", "gain_percent", "chosen")
    ]
    chart = plot_value(table, out_dir / "value.png", models=models, metric_label=fam.loss_label)
    console.print(_rich(table, title=title))
    if details:
        console.print(_rich(scored, title="Every score on each member's test period"))
    console.print(f"table: {out_dir / 'value.md'}, chart: {chart}")
    return table


def _rich(frame: pd.DataFrame, *, title: str) -> Table:
    from rich.table import Table

    table = Table(title=title)
    flat = frame.reset_index()
    for column in flat.columns:
        table.add_column(str(column), justify="left" if column in ("member", "model") else "right")
    for row in flat.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    return table


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "—" if value != value else f"{value:.4g}"  # noqa: PLR0124 (NaN check)
    return str(value)


def register(app: typer.Typer) -> None:
    """Add ``value`` to the root app."""
    app.command("value")(value)
