"""``consortium demo``: run what the kit does, end to end, on the embedded synthetic consortium.

An edge: each step calls the public API and says what it did. The steps are the member and
coordinator workflows in order: generate the members' data, check every file against its contract,
admit the founding members, train both models together (Opacus DP on every member, Flower SecAgg+
between them, rounds recorded in the ledger and paid in contribution points), evaluate, let the
board change a fee and a cargo owner buy forecasts with points, and verify the ledger as any
member or auditor would.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.errors import reported_errors

if TYPE_CHECKING:  # the steps' modules load when the demo runs, not at start-up
    from consortium.synth import ConsortiumSummary


def _say(step: str, text: str) -> None:
    typer.secho(f"\n[{step}] ", fg=typer.colors.CYAN, bold=True, nl=False)
    typer.echo(text)


def _check_files(summary: ConsortiumSummary) -> None:
    from consortium.data import validate_file  # noqa: PLC0415

    for member in summary.members:
        report = validate_file(summary.out_dir / member.file, contract=member.contract)
        status = "ok" if report.valid else f"{report.total} problems"
        extra = ""
        if report.dropped_columns:
            extra += f"; dropped outside the contract: {', '.join(report.dropped_columns)}"
        if report.personal_columns:
            extra += f"; personal, never used: {', '.join(report.personal_columns)}"
        typer.echo(
            f"  {member.member_id:<20} {member.contract}.v{report.version} "
            f"{report.n_rows:>7,} rows  {status}{extra}"
        )


def _verify(url: str, out: Path) -> Path:
    from consortium.audit import audit_database  # noqa: PLC0415
    from consortium.cli.database import open_database  # noqa: PLC0415
    from consortium.ledger.audit import export_ledger  # noqa: PLC0415
    from consortium.ledger.store import publish_checkpoint  # noqa: PLC0415

    factory = open_database(url)
    with factory.begin() as session:
        coordinator_key = out / "keys" / "coordinator.key"
        from consortium.identity.keys import load_signer  # noqa: PLC0415

        head = publish_checkpoint(session, signer=load_signer(coordinator_key))
    with factory.begin() as session:
        report = audit_database(session).log
        export = out / "ledger-export.json"
        export_ledger(session, export)
    typer.echo(
        f"  signed tree head: size {head.size}; verified {report.size} entries, "
        f"{report.heads_checked} tree head(s), root {report.root[:16]}...; export: {export}"
    )
    return export


def demo(
    out: Annotated[
        Path, typer.Option(help="Folder for everything the demo writes (replaced).")
    ] = Path("demo_output"),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic consortium.")] = 7,
    scale: Annotated[
        float, typer.Option(help="Size of the synthetic consortium (1 = default).")
    ] = 1.0,
    epsilon: Annotated[float, typer.Option(help="Each member's privacy budget ε per model.")] = 8.0,
    rounds: Annotated[
        int | None,
        typer.Option(
            help="Federated rounds for both models (default: chosen by validation).", hidden=True
        ),
    ] = None,
) -> None:
    """Run a whole consortium on the embedded synthetic default and say what was done."""
    from consortium.cli import models as models_cli  # noqa: PLC0415
    from consortium.config import load_settings  # noqa: PLC0415
    from consortium.privacy.state import member_state_dir  # noqa: PLC0415
    from consortium.synth import generate_consortium  # noqa: PLC0415

    with reported_errors():
        load_settings()
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        _say("1/7 data", f"generating the synthetic consortium (seed {seed}, scale {scale})")
        summary = generate_consortium(out / "consortium", seed=seed, scale=scale)
        typer.echo(
            f"  {len(summary.members)} members, {summary.total_rows:,} rows in {summary.out_dir}"
        )
        _say("2/7 contracts", "each member checks its files against the consortium's contracts")
        _check_files(summary)
        from consortium.cli import demo_flow  # noqa: PLC0415 (heavy torch/Flower imports)

        _say("3/7 members", "each member gets an Ed25519 key; the founding members are admitted")
        consortium = demo_flow.join(summary, out=out)
        _say("4/7 federation", "both models trained together: DP on every member, SecAgg+ between")
        runs = demo_flow.train_together(
            summary, consortium, out=out, epsilon=epsilon, rounds=rounds
        )
        _say(
            "5/7 evaluation",
            "the smallest carrier scores the pooled ETA model against its local baselines; "
            "every member's gain of joining",
        )
        models_cli.evaluate(
            out / "federation" / "eta" / "model",
            summary.out_dir / summary.member("aurora-air").file,
            home=member_state_dir(  # the state the federation kept with the member's data
                (summary.out_dir / summary.member("aurora-air").file).parent, member="aurora-air"
            ),
            seed=seed,
        )
        typer.echo(
            "  each member makes its own model on its machine (never sent): the best of the "
            "pooled model, adapted to its rows, and its local-only models on its validation period"
        )
        demo_flow.own_models(summary, out=out)
        _say(
            "6/7 board and market",
            "the board changes a fee; a cargo owner buys forecasts with points",
        )
        demo_flow.govern(consortium)
        demo_flow.sell_forecasts(consortium, runs, out=out)
        _say("7/7 ledger", "anyone can verify every round, point, vote and payment")
        export = _verify(consortium.url, out)
        typer.secho("\nDone. What to look at next:", bold=True)
        typer.echo(
            "  dashboard:   .venv/bin/streamlit run dashboards/app.py "
            "--browser.gatherUsageStats false "
            f"-- --db {consortium.url} --models {out / 'federation'} --members {summary.out_dir} "
            f"--coordinator-key {out / 'keys' / 'coordinator.key'}"
        )
        models = out / "federation"
        typer.echo(
            f"  models:      {models / 'eta' / 'model'} and {models / 'stock' / 'model'} "
            "(model_card.json)"
        )
        typer.echo(f"  ledger:      consortium ledger verify --export {export}")
        typer.echo(f"  points:      consortium points supply --db {consortium.url}")
        typer.echo(f"  governance:  consortium proposals list --db {consortium.url}")
        legs = summary.out_dir / summary.member("rhine-road").file
        typer.echo(f"  contracts:   consortium validate {legs} --contract legs")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command(name="demo")(demo)
