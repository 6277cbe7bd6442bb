"""The consortium steps of ``consortium demo``: join, train together, govern, sell forecasts.

Kept apart from :mod:`consortium.cli.demo` so that the heavy torch/Flower imports happen only when
these steps run. Each step calls the same public API the CLI commands call, against one SQLite
coordinator database, and prints what it did.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from consortium.cli.database import open_database
from consortium.cli.federate import progress_printer
from consortium.cli.layout import wrap_items
from consortium.contributions.recording import LedgerRecorder
from consortium.errors import ConsortiumError
from consortium.federation.local_grid import LocalRun, coordinator_identity
from consortium.federation.runner import federate
from consortium.federation.warehouse_grid import GridWarehouseAnswerer
from consortium.forecasts.messages import new_query, sign_query
from consortium.forecasts.service import QueryService, answer_query
from consortium.governance.clock import wait_until
from consortium.governance.execution import execute_proposal
from consortium.governance.store import (
    cast_vote,
    create_proposal,
    get_proposal,
    queue_proposal,
    voting_power,
)
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.membership.store import admit_member
from consortium.points.store import balances, deposit, supply
from consortium.policy.model import DEMO_GOVERNANCE_TIMINGS
from consortium.policy.store import change_policy, current_policy
from consortium.synth import ConsortiumSummary

#: The demo's federated runs: model -> (rounds, local epochs), chosen by validation on the members'
#: past (benchmarks/RESULTS.md, "Federated training").
DEMO_RUNS = {"eta": (12, 2), "stock": (3, 8)}


@dataclass
class DemoConsortium:
    """What the demo's later steps need: the database, keys and where things are."""

    factory: sessionmaker[Session]
    url: str
    coordinator: Signer
    members: dict[str, Signer]
    treasurer: Signer
    cargo_owner: Signer
    keys: Path


def join(summary: ConsortiumSummary, *, out: Path) -> DemoConsortium:
    """Create the coordinator database; admit every member; register a treasurer and a buyer."""
    keys = out / "keys"
    url = f"sqlite:///{(out / 'coordinator.db').resolve()}"
    factory = open_database(url, create=True)
    coordinator = generate_key_file(keys / "coordinator.key")
    members = {m.member_id: generate_key_file(keys / f"{m.member_id}.key") for m in summary.members}
    treasurer = generate_key_file(keys / "treasurer.key")
    cargo_owner = generate_key_file(keys / "cargo-owner.key")
    with factory.begin() as session:
        bootstrap_coordinator(session, coordinator=coordinator)
        for member, signer in members.items():
            admit_member(session, member=member, public_key=signer.public_key, signer=coordinator)
        register_key(
            session, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator
        )
        register_key(
            session, public_key=cargo_owner.public_key, role=Role.CARGO_OWNER, signer=coordinator
        )
        change_policy(session, changes=DEMO_GOVERNANCE_TIMINGS, signer=coordinator)
    typer.echo(
        f"  {len(members)} founding members admitted, a treasurer and a cargo owner registered "
        f"(private keys 0600 in {keys}); coordinator database {url}"
    )
    return DemoConsortium(factory, url, coordinator, members, treasurer, cargo_owner, keys)


def train_together(
    summary: ConsortiumSummary,
    consortium: DemoConsortium,
    *,
    out: Path,
    epsilon: float,
    rounds: int | None = None,
) -> dict[str, LocalRun]:
    """Run one federation per model (DP on every member, SecAgg+), recorded in the ledger."""
    recorder = LedgerRecorder(consortium.factory, consortium.coordinator)
    rounds_override = rounds
    runs: dict[str, LocalRun] = {}
    for model, (default_rounds, local_epochs) in DEMO_RUNS.items():
        rounds = rounds_override or default_rounds
        typer.secho(
            f"\n  {model}: {rounds} rounds x {local_epochs} local epochs, "
            f"ε = {epsilon:g} per member",
            bold=True,
        )
        with progress_printer(model, rounds) as show:
            runs[model] = federate(
                summary.out_dir / "members",
                model=model,  # type: ignore[arg-type]
                rounds=rounds,
                epsilon=epsilon,
                out=out / "federation" / model,
                local_epochs=local_epochs,
                on_event=show,
                recorder=recorder,
            )
    with consortium.factory.begin() as session:
        earned = {a: b for a, b in balances(session).items() if a.startswith("member:")}
    typer.echo("  contribution points minted:")
    width = shutil.get_terminal_size().columns
    for line in wrap_items([f"{a[7:]} {b}" for a, b in earned.items()], width=width, indent="    "):
        typer.echo(line)  # wrapped between members, never inside a name
    return runs


def own_models(summary: ConsortiumSummary, *, out: Path) -> None:
    """Each member makes its own model on its machine and sees what joining gained it."""
    from rich.console import Console

    from consortium.cli.value import run_value

    for model in DEMO_RUNS:
        table = run_value(
            model,
            members=summary.out_dir / "members",
            out_dir=out / "federation" / model,
            console=Console(width=160),
            details=False,
        )
        for member, row in table.iterrows():
            typer.echo(
                f"  {member:<20} {model}: own model = {row['chosen']}, gain of joining "
                f"{row['gain_percent']:+.1f} % vs its best local-only model "
                f"({row['best_local_only']}) on its later rows"
            )


def govern(consortium: DemoConsortium) -> datetime:
    """Let a board member propose a higher lane fee, the members vote, then queue and execute it.

    Every step is timed by the coordinator's real clock; the demo consortium's genesis policy has
    governance periods of seconds (:data:`~consortium.policy.model.DEMO_GOVERNANCE_TIMINGS`), and
    the demo waits them out.
    """
    factory, coordinator = consortium.factory, consortium.coordinator
    with factory.begin() as session:
        policy = current_policy(session)
        old_fee = policy.fees["lane"]
        proposal = create_proposal(
            session,
            kind="fees",
            params={
                "lane_query_points": old_fee + 2,
                "warehouse_query_points": policy.fees["warehouse"],
            },
            title="Raise the lane forecast fee",
            signer=consortium.members["meridian-line"],
        )
    pid = proposal.proposal_id
    typer.echo(f"  meridian-line proposes {pid}: lane fee {old_fee} -> {old_fee + 2} points")
    typer.echo(f"  voting opens in {policy.voting_delay_s} s and lasts {policy.voting_period_s} s")
    wait_until(proposal.vote_start)
    for member, signer in consortium.members.items():
        with factory.begin() as session:
            power = voting_power(session, pid, member)
            if power == 0:
                continue
            support = "against" if member == "aurora-air" else "for"
            cast_vote(session, proposal_id=pid, support=support, signer=signer)
        typer.echo(f"    {member:<20} votes {support:<8} with power {power} (at the snapshot)")
    with factory.begin() as session:
        wait_until(get_proposal(session, pid).deadline)
    with factory.begin() as session:
        queued = queue_proposal(session, proposal_id=pid, signer=coordinator)
    typer.echo(f"  {pid} queued; executable after the {policy.timelock_s} s timelock")
    wait_until(queued.eta or queued.deadline)
    with factory.begin() as session:
        executed = execute_proposal(session, proposal_id=pid, signer=coordinator)
        new_fee = current_policy(session).fees["lane"]
    typer.echo(f"  {pid}: {executed.state(now=datetime.now(UTC))}; the lane fee in force is now "
               f"{new_fee} points")  # fmt: skip
    return proposal.created_at


def sell_forecasts(consortium: DemoConsortium, runs: dict[str, LocalRun], *, out: Path) -> None:
    """Let a treasurer credit a cargo owner, who then buys a lane and a warehouse forecast."""
    factory, owner = consortium.factory, consortium.cargo_owner
    account = f"cargo:{owner.key_id}"
    with factory.begin() as session:
        deposit(
            session,
            account=account,
            amount=200,
            external_ref="INV-DEMO-0001",
            signer=consortium.treasurer,
        )
    typer.echo(f"  the treasurer credits {account[:22]}... with 200 points (invoice INV-DEMO-0001)")
    run = runs["stock"]
    with coordinator_identity(run.grid.run.run_id):
        answerer = GridWarehouseAnswerer(run.grid)
        service = QueryService(
            coordinator=consortium.coordinator,
            eta_model_dir=out / "federation" / "eta" / "model",
            stock_model_dir=out / "federation" / "stock" / "model",
            answerer=answerer,
        )
        now = datetime.now(UTC)
        lane = {
            "origin": "CNSHA",
            "destination": "DEHAM",
            "mode": "sea",
            "departure_from": (now + timedelta(days=1)).replace(microsecond=0).isoformat(),
            "departure_to": (now + timedelta(days=8)).replace(microsecond=0).isoformat(),
        }
        for kind, params in (
            ("lane", lane),
            ("warehouse", {"warehouse_id": "WH-DEDUI-01", "horizon_days": 7}),
        ):
            query = new_query(kind=kind, params=params, issuer=owner, max_price_points=50, now=now)
            try:
                with factory.begin() as session:
                    paid = answer_query(
                        session,
                        query=query,
                        signature=sign_query(query, signer=owner),
                        service=service,
                        now=now,
                    )
            except ConsortiumError as exc:  # the demo shows the refusal and goes on
                typer.echo(f"  {kind} query refused, nothing charged: {exc}")
                continue
            split = ", ".join(f"{a.split(':')[-1][:14]} {p}" for a, p in sorted(paid.parts.items()))
            typer.echo(
                f"  {kind} query answered for {paid.fee} points: {_describe(paid.answer.summary())}"
            )
            typer.echo(f"    split: {split}")
    with factory.begin() as session:
        books = supply(session)
    typer.echo(
        f"  supply: minted {books.minted}, burned {books.burned}, circulating {books.circulating}"
    )


def _describe(answer: dict[str, Any]) -> str:
    if "on_time_rate" in answer:
        return (
            f"{answer['origin']}->{answer['destination']} by {answer['mode']}: on time "
            f"{float(answer['on_time_rate']):.0%} (within {answer['tolerance_minutes']} min), "
            f"transit {answer['transit_hours_lower']}-{answer['transit_hours_upper']} h "
            f"({float(answer['interval_level']):.0%} interval), {answer['departures']} departures, "
            f">= {answer['legs_in_pool']} legs in the pool"
        )
    return (
        f"{answer['warehouse_id']}: stock-out risk {float(answer['p_stockout_mean']):.0%} "
        f"per SKU series within {answer['horizon_days']} days ({answer['sku_series']}+ series)"
    )
