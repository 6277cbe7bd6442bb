"""``consortium demo``: run what the kit does, end to end, on the embedded synthetic consortium.

An edge: each step calls the public API and says what it did. The steps are the member and
coordinator workflows in order: generate the members' data, check every file against its contract,
give each member an identity on the ledger, train and evaluate the two models under a privacy
budget, and verify the ledger as any member or auditor would.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from consortium.cli.errors import reported_errors
from consortium.config import load_settings
from consortium.data import validate_file
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.audit import export_ledger, verify_database
from consortium.ledger.store import publish_checkpoint
from consortium.synth import ConsortiumSummary, generate_consortium


def _say(step: str, text: str) -> None:
    typer.secho(f"\n[{step}] ", fg=typer.colors.CYAN, bold=True, nl=False)
    typer.echo(text)


def _check_files(summary: ConsortiumSummary) -> None:
    for member in summary.members:
        report = validate_file(summary.out_dir / member.file, contract=member.contract)
        status = "ok" if report.valid else f"{report.total} problems"
        extra = ""
        if report.dropped_columns:
            extra += f"; dropped outside the contract: {', '.join(report.dropped_columns)}"
        if report.personal_columns:
            extra += f"; personal, never used: {', '.join(report.personal_columns)}"
        typer.echo(f"  {member.member_id:<20} {member.contract}.v{report.version} "
                   f"{report.n_rows:>7,} rows  {status}{extra}")


def _join_ledger(summary: ConsortiumSummary, out: Path) -> tuple[str, Path]:
    keys = out / "keys"
    url = f"sqlite:///{(out / 'coordinator.db').resolve()}"
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    coordinator = generate_key_file(keys / "coordinator.key")
    with factory.begin() as session:
        bootstrap_coordinator(session, coordinator=coordinator)
        for member in summary.members:
            signer = generate_key_file(keys / f"{member.member_id}.key")
            register_key(session, public_key=signer.public_key, role=Role.MEMBER, signer=coordinator)
        head = publish_checkpoint(session, signer=coordinator)
    typer.echo(f"  {len(summary.members)} member keys registered (private keys 0600 in {keys}); "
               f"signed tree head: size {head.size}")
    with factory.begin() as session:
        report = verify_database(session)
        export = out / "ledger-export.json"
        export_ledger(session, export)
    engine.dispose()
    typer.echo(f"  verified {report.size} entries, {report.heads_checked} tree head(s), "
               f"root {report.root[:16]}...; export: {export}")
    return url, export


def demo(
    out: Annotated[Path, typer.Option(help="Folder for everything the demo writes (replaced).")] = Path(
        "demo_output"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic consortium.")] = 7,
    scale: Annotated[float, typer.Option(help="Size of the synthetic consortium (1 = default).")] = 1.0,
    epsilon: Annotated[float, typer.Option(help="Each member's privacy budget ε.")] = 8.0,
) -> None:
    """Run a whole consortium on the embedded synthetic default and say what was done."""
    with reported_errors():
        load_settings()
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        _say("1/4 data", f"generating the synthetic consortium (seed {seed}, scale {scale})")
        summary = generate_consortium(out / "consortium", seed=seed, scale=scale)
        typer.echo(f"  {len(summary.members)} members, {summary.total_rows:,} rows in {summary.out_dir}")
        _say("2/4 contracts", "each member checks its files against the consortium's contracts")
        _check_files(summary)
        _say("3/4 identity", "each member gets an Ed25519 key; the coordinator registers it on the ledger")
        db_url, export = _join_ledger(summary, out)
        _say("4/4 models", f"members train locally under differential privacy (ε = {epsilon:g})")
        from consortium.cli.demo_models import train_and_evaluate  # noqa: PLC0415 (heavy torch import)

        train_and_evaluate(summary, out=out, epsilon=epsilon, seed=seed)
        typer.secho("\nDone. What to look at next:", bold=True)
        typer.echo(f"  consortium validate {summary.out_dir / summary.member('rhine-road').file} --contract legs")
        typer.echo(f"  consortium ledger verify --export {export}")
        typer.echo(f"  consortium ledger verify --db {db_url}")
        typer.echo(f"  model directories and their model cards: {out / 'models'}")
        typer.echo("  The Streamlit dashboard (pooled forecasts, paid queries, governance) arrives with the")
        typer.echo("  points/queries/governance work; federation across members with the Flower work.")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the root app."""
    app.command(name="demo")(demo)
