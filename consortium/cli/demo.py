"""``consortium demo``: run what the kit does, end to end, on the embedded synthetic consortium.

An edge: each step calls the public API and says what it did. The steps are the member and
coordinator workflows in order: generate the members' data, check every file against its contract,
start the coordinator service (its key in its own folder, HTTPS on loopback), give every actor
its own key folder and admit the founding members, train both models together (Opacus DP on
every member, Flower SecAgg+ between them, rounds recorded in the ledger and paid in contribution
points), evaluate, let the board change a fee and appoint the treasurer and a cargo owner buy
forecasts with points (each actor signing with its own key, through the service), let each
member witness the ledger and verify its export. The service is stopped at the end, also on an
error or Ctrl-C.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.errors import reported_errors

if TYPE_CHECKING:  # the steps' modules load when the demo runs, not at start-up
    from consortium.cli.demo_flow import DemoActors
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


def _export(url: str, out: Path) -> Path:
    """Publish the coordinator's ledger export, checked first; anyone can verify it."""
    from consortium.audit import audit_database  # noqa: PLC0415
    from consortium.cli.database import open_database  # noqa: PLC0415
    from consortium.ledger.audit import export_ledger  # noqa: PLC0415

    with open_database(url).begin() as session:
        report = audit_database(session).log
        export = out / "ledger-export.json"
        export_ledger(session, export)
    typer.echo(
        f"  the coordinator's export: {report.size} entries, {report.heads_checked} signed tree "
        f"head(s) verified, root {report.root[:16]}...; {export}"
    )
    return export


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """Let SIGTERM unwind like Ctrl-C, so that the demo still stops the service it started."""

    def leave(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, leave)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _next_steps(actors: DemoActors, summary: ConsortiumSummary, *, out: Path, export: Path) -> None:
    service = actors.service
    python = Path(sys.executable).parent
    client = f"--coordinator {service.url} --pin {service.pin}"
    typer.secho("\nDone; the coordinator service is stopped. What to look at next:", bold=True)
    typer.echo(f"  coordinator: {shlex.join(service.command)}  (starts it again on the same port)")
    pages = {
        "cargo-owner": ("cargo owner", "Paid queries"),
        "meridian-line": ("board member", "Governance"),
    }
    for actor, (role, page) in pages.items():
        typer.echo(
            f"  dashboard of a {role} ({actor}) on its own machine, against the running service:\n"
            f"    {python / 'streamlit'} run dashboards/app.py --browser.gatherUsageStats false "
            f"-- {client} --ca {actors.folders[actor] / 'ca.pem'}\n"
            f"    then, on its {page} page, its own key file: {actors.key_file(actor)} "
            "(read there, never uploaded)"
        )
    models = out / "federation"
    typer.echo(
        "  the coordinator's own view, on its machine, reading its database:\n"
        f"    {python / 'streamlit'} run dashboards/app.py --browser.gatherUsageStats false "
        f"-- --db {service.database_url} --models {models} --members {summary.out_dir} "
        f"--coordinator-key {service.key_dir / 'coordinator.key'}"
    )
    typer.echo(
        f"  models:      {models / 'eta' / 'model'} and {models / 'stock' / 'model'} "
        "(model_card.json)"
    )
    typer.echo(
        f"  ledger:      consortium ledger verify --export {export} --pin-coordinator {service.pin}"
    )
    typer.echo(f"  points:      consortium points supply --db {service.database_url}")
    legs = summary.out_dir / summary.member("rhine-road").file
    typer.echo(f"  contracts:   consortium validate {legs} --contract legs")


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

    with reported_errors(), _terminate_as_exit():
        load_settings()
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        _say("1/7 data", f"generating the synthetic consortium (seed {seed}, scale {scale})")
        summary = generate_consortium(out / "consortium", seed=seed, scale=scale)
        typer.echo(
            f"  {len(summary.members)} members, {summary.total_rows:,} rows in {summary.out_dir}"
        )
        from consortium.cli import demo_flow, demo_market  # noqa: PLC0415 (torch/Flower imports)

        with demo_flow.coordinator_service(summary, out=out) as service:
            _say("2/7 contracts", "each member checks its files against the consortium's contracts")
            _check_files(summary)
            _say(
                "3/7 members",
                "each company makes its keys in its own folder; the coordinator admits the "
                "founding members by their public keys",
            )
            actors = demo_flow.found(summary, service, out=out)
            _say(
                "4/7 federation",
                "both models trained together: DP on every member, SecAgg+ between",
            )
            demo_flow.train_together(summary, actors, out=out, epsilon=epsilon, rounds=rounds)
            _say(
                "5/7 evaluation",
                "the smallest carrier scores the pooled ETA model against its local baselines; "
                "every member's gain of joining",
            )
            data = summary.out_dir / summary.member("aurora-air").file
            models_cli.evaluate(
                out / "federation" / "eta" / "model", data, seed=seed,
                home=member_state_dir(data.parent, member="aurora-air"),  # the federation's state
            )  # fmt: skip
            typer.echo(
                "  each member makes its own model on its machine (never sent): the best of the "
                "pooled model, adapted to its rows, and its local-only models on its validation "
                "period"
            )
            demo_flow.own_models(summary, out=out)
            _say(
                "6/7 board and market",
                "the board changes a fee and appoints the treasurer; a cargo owner buys "
                "forecasts with points; every actor signs with its own key, through the service",
            )
            demo_market.govern(summary, actors)
            demo_market.sell_forecasts(actors)
            _say("7/7 ledger", "each member witnesses the ledger; anyone can verify the export")
            demo_market.witness_members(summary, actors)
            export = _export(service.database_url, out)
        _next_steps(actors, summary, out=out, export=export)


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command(name="demo")(demo)
